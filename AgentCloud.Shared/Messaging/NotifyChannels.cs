namespace AgentCloud.Shared.Messaging;

/// <summary>PostgreSQL NOTIFY channels. Payloads are ids as text; listeners always re-read the table.</summary>
public static class NotifyChannels
{
    /// <summary>An agent's inbox got a message; payload: the agent id.</summary>
    public const string Inbox = "agent_inbox";
    /// <summary>An outbound message waits for remote delivery; payload: the agent id.</summary>
    public const string Outbox = "agent_outbox";
    /// <summary>A message reached done or dead; payload: the message id.</summary>
    public const string MessageFinished = "message_finished";
    /// <summary>A line was added to an agent's log (a trigger sends it); payload: the agent id.</summary>
    public const string AgentLogs = "agent_logs";
}
