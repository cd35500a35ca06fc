namespace AgentCloud.AppHost;

/// <summary>
/// A setting the AppHost cannot work with. Program reports its message as one line and exits non-zero:
/// a newcomer's typo deserves the name of the setting, not a stack trace.
/// </summary>
public sealed class ConfigurationProblem(string message) : Exception(message)
{
    public const int ExitCode = 2;
}
