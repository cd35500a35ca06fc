using AgentCloud.Shared.Data;

namespace AgentCloud.Shared.Messaging;

/// <summary>
/// Statements that ride in the round trip of another's (<see cref="MessageTable.EnqueueAsync"/>'s insert,
/// <see cref="MessageTable.ReadAheadAsync"/>),
/// after it, and read their own results; after an insert they run whether or not it stored anything, so after a repeat the caller rolls
/// back.
/// </summary>
public sealed record RidingStatements(string Sql, object Parameters, Func<PreparedResults, Task> ReadAsync);
