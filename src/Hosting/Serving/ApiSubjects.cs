namespace SelfForcing.Hosting.Serving;

/// <summary>The subjects of the public API: a contract with clients written by other people.</summary>
public sealed record ApiSubjects(string Prefix)
{
    public string Api => $"{Prefix}.api.>";
    public string Start => $"{Prefix}.api.start";
    public string Cancel => $"{Prefix}.api.cancel";
    public string Prompt => $"{Prefix}.api.prompt";
    public string List => $"{Prefix}.api.list";
    public string AllStreams => $"{Prefix}.streams.>";
    public string Video(string stream) => $"{Prefix}.streams.{stream}.video";
    public string Events(string stream) => $"{Prefix}.streams.{stream}.events";
}
