namespace SelfForcing.Hosting.Serving;

/// <summary>What the API answers to a request it cannot serve: <c>{"error": message, "field": name}</c>.</summary>
public sealed class ApiError(string message, string? field = null) : Exception(message)
{
    public string? Field { get; } = field;
}
