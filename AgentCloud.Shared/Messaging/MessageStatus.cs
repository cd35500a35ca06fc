namespace AgentCloud.Shared.Messaging;

public static class MessageStatus
{
    public const string Queued = "queued";
    public const string Processing = "processing";
    /// <summary>A run that parked to wait (for a reply): no lease, its agent's head of line; see <see cref="ParkedRuns"/>.</summary>
    public const string Waiting = "waiting";
    public const string Done = "done";
    /// <summary>The last attempt failed; another is due at <c>available_at</c>.</summary>
    public const string Failed = "failed";
    /// <summary>Out of attempts: nobody will try again.</summary>
    public const string Dead = "dead";
    /// <summary>Withdrawn by its sender before it finished: nobody will handle it.</summary>
    public const string Canceled = "canceled";

    public static readonly IReadOnlyList<string> All = [Queued, Processing, Waiting, Done, Failed, Dead, Canceled];

    public static bool IsFinal(string status) => status is Done or Dead or Canceled;
}
