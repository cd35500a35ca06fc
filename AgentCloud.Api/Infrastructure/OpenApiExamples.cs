using System.Text.Json;
using AgentCloud.Api.Features.Agents;
using AgentCloud.Api.Features.Messages;
using AgentCloud.Api.Features.Users;

namespace AgentCloud.Api.Infrastructure;

/// <summary>The sample values the OpenAPI document shows, one consistent story: ada's echo agent "weather".</summary>
public static class OpenApiExamples
{
    public const string Address = "agent1qv2l3mkd9zrc6yh8xw5u4tjc7s0n3f6ga9e2p8q5r1t4y7u0i3o6p9a2s5d8f";
    public const string OtherAddress = "agent1q0w3e6r9t2y5u8i1o4p7a0s3d6f9g2h5j8k1l4z7x0c3v6b9n2m5q8w1e4r7t";
    private static readonly DateTime At = new(2026, 12, 1, 9, 30, 0, DateTimeKind.Utc);
    private static readonly Guid MessageId = Guid.Parse("0b7e2a1c-6f3d-4c3e-9a4e-3d2f1b0c9e8a");
    private static readonly Guid Session = Guid.Parse("5d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d");

    public static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement.Clone();

    public static UserResponse User => new(1, "ada", "ada@example.com", At, At);

    public static AgentResponse Agent => new(2, "weather", 1, Json("""{"behavior": "echo"}"""), Address, At, At);

    public static MessageResponse Message(string status) => new(
        MessageId, 2, "inbound", "user:1", Address, Session, Json("""{"hello": "world"}"""), status,
        status == "waiting"
            ? Json($$"""{"kind": "reply", "message_id": "{{MessageId}}", "from": "{{OtherAddress}}", "until": "2026-01-02T03:05:05.0000000Z"}""")
            : null,
        status == "queued" ? 0 : 1, status == "done" ? Json("""{"hello": "world"}""") : null, null, null,
        "4bf92f3577b34da6a3ce929d0e0e4736", At, At, status == "done" ? At : null);

    public static Features.Messages.Send.Response Sent(string status) => new(
        MessageId, 2, Address, OtherAddress, Session, "local", status, "4bf92f3577b34da6a3ce929d0e0e4736", At,
        status == "done" ? Json("\"hi\"") : null);
}
