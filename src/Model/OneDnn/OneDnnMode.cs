namespace SelfForcing.Model.OneDnn;

/// <summary>What to do with libtorch's oneDNN (mkldnn) CPU convolutions.</summary>
public enum OneDnnMode
{
    /// <summary>Check oneDNN against float64 on the loaded models' conv shapes and keep it unless it is wrong (default).</summary>
    Probe,
    /// <summary>Keep oneDNN without checking.</summary>
    On,
    /// <summary>Turn oneDNN off for the process (the slower native kernels run).</summary>
    Off,
}

/// <summary>Parses the <c>SELFFORCING_ONEDNN</c> setting (<c>on</c>, <c>off</c>, <c>probe</c>).</summary>
public static class OneDnnSetting
{
    public const string Variable = "SELFFORCING_ONEDNN";

    /// <summary>Older switch, kept as an alias: <c>SELFFORCING_KEEP_ONEDNN=1</c> means <c>on</c>.</summary>
    public const string KeepAlias = "SELFFORCING_KEEP_ONEDNN";

    /// <summary>
    /// <paramref name="value"/> of <see cref="Variable"/> wins when set; otherwise <paramref name="keepAlias"/> = "1" means
    /// <see cref="OneDnnMode.On"/>; otherwise <see cref="OneDnnMode.Probe"/>.
    /// </summary>
    public static OneDnnMode Parse(string? value, string? keepAlias)
    {
        if (!string.IsNullOrWhiteSpace(value))
        {
            return value.Trim().ToLowerInvariant() switch
            {
                "probe" => OneDnnMode.Probe,
                "on" => OneDnnMode.On,
                "off" => OneDnnMode.Off,
                _ => throw new ArgumentException($"{Variable}='{value}' is not one of on, off, probe.", nameof(value)),
            };
        }
        return keepAlias?.Trim() == "1" ? OneDnnMode.On : OneDnnMode.Probe;
    }

    public static OneDnnMode FromEnvironment() =>
        Parse(Environment.GetEnvironmentVariable(Variable), Environment.GetEnvironmentVariable(KeepAlias));
}
