using System.Text.Json.Nodes;
using AgentCloud.AgentWorker.Messaging;
using AgentCloud.Shared.Messaging;
using AgentCloud.Shared.Llm;
using Dapper;
using Npgsql;

namespace AgentCloud.AgentWorker.Llm;

/// <summary>Thrown when a run finds its lease taken over: it must commit nothing more.</summary>
public sealed class LeaseLostException(Guid messageId) : Exception($"The lease on message {messageId} was lost.");

/// <summary>A step about to be stored: kind, data, and for model calls the model and its usage.</summary>
public sealed record NewStep(string Kind, JsonObject Data, string? Model = null, long? InputTokens = null, long? OutputTokens = null,
    double? DurationMs = null);

/// <summary>The worker's SQL of runs: steps stored in transactions fenced on the message's lease, and lease renewal.</summary>
public sealed class RunStore(NpgsqlDataSource dataSource, WorkerIdentity worker)
{
    /// <summary>
    /// Runs <paramref name="effect"/> (may be null) and stores <paramref name="steps"/> in one transaction, only
    /// while the lease is ours; a lost lease commits nothing and throws <see cref="LeaseLostException"/>.
    /// </summary>
    public async Task<T?> CommitStepsAsync<T>(RunState run, IReadOnlyList<NewStep> steps,
        Func<NpgsqlConnection, NpgsqlTransaction, Task<T>>? effect, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (!await MessageTable.FenceAsync(connection, transaction, run.MessageId, worker.LeaseOwner, cancellationToken))
        {
            throw new LeaseLostException(run.MessageId);
        }

        var result = effect is null ? default : await effect(connection, transaction);
        var stored = new List<StepRow>();
        foreach (var step in steps)
        {
            stored.Add(await connection.QuerySingleAsync<StepRow>(new CommandDefinition(
                $"""
                INSERT INTO run_steps (message_id, agent_id, session, step_index, kind, data, model, input_tokens, output_tokens,
                    duration_ms)
                VALUES (@messageId, @agentId, @session, @index, @kind, @data::jsonb, @model, @input, @output, @duration)
                RETURNING {RunSteps.Columns}
                """,
                new
                {
                    messageId = run.MessageId, agentId = run.AgentId, session = run.Session, index = run.Steps.Count + stored.Count,
                    kind = step.Kind, data = step.Data.ToJsonString(), model = step.Model,
                    input = (int?)step.InputTokens, output = (int?)step.OutputTokens, duration = step.DurationMs,
                },
                transaction, cancellationToken: cancellationToken)));
        }

        await transaction.CommitAsync(cancellationToken);
        run.Steps.AddRange(stored);
        return result;
    }

    /// <summary>Pushes the lease forward; false when it is no longer ours.</summary>
    public async Task<bool> RenewLeaseAsync(Guid messageId, TimeSpan lease, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await MessageTable.RenewLeaseAsync(connection, messageId, worker.LeaseOwner, lease, cancellationToken);
    }

    /// <summary>A read on a connection of its own, given back to the pool at once (a run holds none between its steps).</summary>
    public async Task<T> ReadAsync<T>(Func<NpgsqlConnection, Task<T>> read, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await read(connection);
    }
}

/// <summary>One run in progress: its message and the steps stored so far (by this attempt or earlier ones).</summary>
public sealed class RunState(Guid messageId, int agentId, Guid session, List<StepRow> steps)
{
    public Guid MessageId { get; } = messageId;
    public int AgentId { get; } = agentId;
    public Guid Session { get; } = session;
    public List<StepRow> Steps { get; } = steps;

    /// <summary>Whose conversation and memory the run's message belongs to (<see cref="SenderSpaces"/>).</summary>
    public string Space { get; init; } = "";

    /// <summary>The memory the run may use (null: none).</summary>
    public MemoryScope? Memory { get; init; }

    public int ModelCalls => Steps.Count(s => s.Kind == StepKinds.ModelCall);
    public int ToolCalls => Steps.Count(s => s.Kind == StepKinds.ToolCall);
    public long OutputTokens => Steps.Sum(s => (long)(s.OutputTokens ?? 0));
}

/// <summary>Keeps a message's lease alive while a run takes long (a slow model, a wait for a reply); cancels the run when it is
/// lost.</summary>
public sealed class LeaseKeeper : IAsyncDisposable
{
    private readonly CancellationTokenSource lost;
    private readonly CancellationTokenSource stop = new();
    private readonly Task loop;

    public LeaseKeeper(RunStore store, Guid messageId, TimeSpan lease, ILogger logger, CancellationToken cancellationToken)
    {
        lost = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        loop = Task.Run(async () =>
        {
            var every = lease / 3;
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(every, stop.Token);
                    if (!await store.RenewLeaseAsync(messageId, lease, stop.Token))
                    {
                        logger.LogWarning("Lost the lease on message {MessageId} during its run; stopping it", messageId);
                        IsLost = true;
                        await lost.CancelAsync();
                        return;
                    }
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                catch (Exception exception)
                {
                    // A database blip: the next renewal may still come before the lease ends; the fence guards the rest.
                    logger.LogWarning(exception, "Could not renew the lease on message {MessageId}", messageId);
                }
            }
        }, CancellationToken.None);
    }

    public CancellationToken Token => lost.Token;

    public bool IsLost { get; private set; }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        await loop;
        stop.Dispose();
        lost.Dispose();
    }
}
