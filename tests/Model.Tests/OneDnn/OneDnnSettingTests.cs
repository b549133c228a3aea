using SelfForcing.Model.OneDnn;

namespace SelfForcing.Model.Tests.OneDnn;

public class OneDnnSettingTests
{
    [Theory]
    [InlineData(null, null, OneDnnMode.Probe)]
    [InlineData("", null, OneDnnMode.Probe)]
    [InlineData("probe", null, OneDnnMode.Probe)]
    [InlineData("on", null, OneDnnMode.On)]
    [InlineData(" OFF ", null, OneDnnMode.Off)]
    [InlineData(null, "1", OneDnnMode.On)]      // the older SELFFORCING_KEEP_ONEDNN=1
    [InlineData(null, "0", OneDnnMode.Probe)]
    [InlineData("off", "1", OneDnnMode.Off)]    // SELFFORCING_ONEDNN wins over the alias
    [InlineData("probe", "1", OneDnnMode.Probe)]
    public void Setting_and_alias_pick_the_mode(string? value, string? keepAlias, OneDnnMode expected) =>
        Assert.Equal(expected, OneDnnSetting.Parse(value, keepAlias));

    [Theory]
    [InlineData("yes")]
    [InlineData("1")]
    [InlineData("of")]
    public void Unknown_values_are_rejected_with_the_variable_name(string value)
    {
        var e = Assert.Throws<ArgumentException>(() => OneDnnSetting.Parse(value, null));
        Assert.Contains("SELFFORCING_ONEDNN", e.Message);
        Assert.Contains("on, off, probe", e.Message);
    }
}
