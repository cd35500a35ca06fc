namespace AgentCloud.AgentWorker.Messaging;

/// <summary>This process's name in <c>messages.lease_owner</c>: unique per start, readable in the table.</summary>
public sealed class WorkerIdentity
{
    public string LeaseOwner { get; } = Create(Environment.MachineName, Environment.ProcessId);

    public override string ToString() => LeaseOwner;

    private static string Create(string machine, int processId) =>
        $"{(machine.Length > 60 ? machine[..60] : machine)}/{processId}/{Guid.NewGuid().ToString("N")[..8]}";
}
