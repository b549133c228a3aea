using System.Text.Json;
using System.Text.Json.Nodes;
using MessagePack;

namespace SelfForcing.Hosting.Serving;

/// <summary>
/// Request and reply bodies: JSON, or MessagePack when the request says <c>Content-Type: application/msgpack</c>.
/// MessagePack is converted to JSON and back at the edge, so both go through one parser and one validator.
/// </summary>
public static class ApiCodec
{
    public const string MsgPack = "application/msgpack";
    public const int MaxRequestBytes = 256 * 1024;
    private static readonly MessagePackSerializerOptions Untrusted = MessagePackSerializerOptions.Standard.WithSecurity(MessagePackSecurity.UntrustedData);

    public static JsonObject ParseObject(ReadOnlySpan<byte> body, bool msgpack)
    {
        if (body.Length > MaxRequestBytes) throw new ApiError($"request body is {body.Length} bytes; the limit is {MaxRequestBytes}");
        if (body.IsEmpty || (!msgpack && body.Trim(" \t\r\n"u8).IsEmpty)) return new JsonObject();
        string json;
        if (msgpack)
        {
            // Untrusted-data security bounds nesting depth: a hostile body cannot overflow the converter's stack.
            try { json = MessagePackSerializer.ConvertToJson(body.ToArray(), Untrusted); }
            catch (MessagePackSerializationException e) { throw new ApiError($"malformed MessagePack: {e.GetBaseException().Message}"); }
            catch (InsufficientExecutionStackException) { throw new ApiError("malformed MessagePack: nested too deeply"); }
        }
        else json = System.Text.Encoding.UTF8.GetString(body);
        JsonNode? node;
        try { node = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { MaxDepth = 16 }); }
        catch (JsonException e) { throw new ApiError($"malformed JSON: {e.Message}"); }
        catch (ArgumentException e) { throw new ApiError($"malformed JSON: {e.Message}"); }
        return node as JsonObject ?? throw new ApiError("the request body must be a JSON object");
    }

    public static byte[] Encode(JsonObject reply, bool msgpack)
    {
        var json = reply.ToJsonString();
        return msgpack ? MessagePackSerializer.ConvertFromJson(json) : System.Text.Encoding.UTF8.GetBytes(json);
    }

    public static JsonObject Error(string message, string? field)
    {
        var o = new JsonObject { ["error"] = message };
        if (field is not null) o["field"] = field;
        return o;
    }
}
