namespace AgentCloud.Shared.Callbacks;

/// <summary>
/// The events a webhook can ask for (its <c>events</c>), as the <c>type</c> of the body it is sent. The message ones are
/// written by the <c>messages_callbacks</c> trigger (migration 0095) as <c>message.&lt;status&gt;</c>; anything else
/// emits with <c>SELECT callbacks_emit(agent_id, message_id, event, data)</c> in the transaction that makes it true.
/// </summary>
public static class CallbackEvents
{
    /// <summary>A message to an agent was answered (status done).</summary>
    public const string MessageDone = "message.done";
    /// <summary>A message to an agent failed for good (status dead).</summary>
    public const string MessageDead = "message.dead";
    /// <summary>A run parked, waiting for something (status waiting).</summary>
    public const string MessageWaiting = "message.waiting";
    /// <summary>A run asks a person to approve a tool call.</summary>
    public const string ApprovalRequested = "approval.requested";

    public static readonly IReadOnlyList<string> All = [MessageDone, MessageDead, MessageWaiting, ApprovalRequested];
}
