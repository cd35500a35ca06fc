namespace AgentCloud.Shared.Messaging;

public static class MessageDirection
{
    public const string Inbound = "inbound";
    public const string Outbound = "outbound";

    public static readonly IReadOnlyList<string> All = [Inbound, Outbound];
}
