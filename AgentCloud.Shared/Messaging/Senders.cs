namespace AgentCloud.Shared.Messaging;

/// <summary>Senders that are not agents: the owner, through the API.</summary>
public static class Senders
{
    public const string UserPrefix = "user:";

    public static string User(int userId) => $"{UserPrefix}{userId}";

    public static bool IsUser(string sender) => sender.StartsWith(UserPrefix, StringComparison.Ordinal);
}
