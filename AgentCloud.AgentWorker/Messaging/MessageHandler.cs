using System.Diagnostics;
using System.Text.Json.Nodes;
using AgentCloud.Shared.Data;
using AgentCloud.Shared.Messaging;
using AgentCloud.Shared.Messaging.Behaviors;
using AgentCloud.Shared.UAgents;
using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AgentCloud.AgentWorker.Messaging;

/// <summary>
/// Handles one claimed inbound message: runs the agent's behaviour, then commits its effects in one
/// transaction fenced on our lease, or records the failure (retry later, or dead).
/// </summary>
public sealed class MessageHandler(
    NpgsqlDataSource dataSource,
    AgentBehaviors behaviors,
    WorkerIdentity worker,
    MessagingMetrics metrics,
    IOptions<MessagingOptions> options,
    ILogger<MessageHandler> logger,
    StaticEndpointMap endpointMap,
    IHostApplicationLifetime lifetime,
    Wakeups wakeups) : IAsyncDisposable
{
    private const string ReplyBehavior = "reply";

    // Runs that send nothing, of the agents handled at once, complete together (see Batcher): one statement and one commit,
    // on the connection of the first run's slot (each slot waits for its answer and uses its connection for nothing else
    // meanwhile, so a batch never needs one more from the pool). Under load, the more slots, the shorter each agent's run:
    // without this, completions per message grew with the slots (at full load two workers took 0.63 a message, one 0.33).
    private readonly Batcher<(NpgsqlConnection Connection, RunCompletion Run), CompletedRun?> completions = new("complete messages",
        maxBatch: options.Value.MaxConcurrency, loops: 2,
        async runs => (IReadOnlyList<CompletedRun?>?)await MessageTable.CompleteInboundAsync(runs[0].Connection, null, worker.LeaseOwner,
                [.. runs.Select(run => run.Run)], options.Value.LeaseDuration, CancellationToken.None)
            ?? [.. runs.Select(_ => (CompletedRun?)null)],
        // One run's lost lease fails the batch: each run again alone finds out whether it was its own.
        runAgainAlone: completed => completed is null);

    public ValueTask DisposeAsync() => completions.DisposeAsync();

    private static readonly ActivitySource ActivitySource = new(AgentWorker.ActivitySourceName);

    /// <summary>
    /// Handles a claimed message and then, while its agent has more due and the run is not over, the next ones. A
    /// behaviour that <see cref="IAgentBehavior.IsPure"/> takes the head's followers along (read ahead under its lease)
    /// and commits them with it in one transaction; other behaviours commit one message at a time. Either way the
    /// commit claims the next head (see <see cref="MessageTable.CompleteInboundAsync"/>).
    /// Never throws: whatever goes wrong ends as a failed attempt, or as a lease left to expire.
    /// </summary>
    public async Task HandleAsync(ClaimedHead first, CancellationToken cancellationToken)
    {
        var head = first.Message;
        for (var handled = 0; head is not null;)
        {
            (handled, head) = await HandleRunAsync(head, handled, handled == 0 ? first : null, cancellationToken);
        }
    }

    /// <summary>One message handled (its result null when it is a reply, which nothing answers), waiting for its commit.</summary>
    private sealed record Handling(MessageRow Message, BehaviorResult? Result, string BehaviorName, Activity? Activity);

    /// <returns>How many of the run's messages are handled so far, and the agent's next head, claimed in this commit (null: the run
    /// ends).</returns>
    /// <param name="claimed">The head as the claim took it (the first run), with its agent and whether others waited behind it.</param>
    private async Task<(int Handled, MessageRow? Next)> HandleRunAsync(MessageRow head, int handledBefore, ClaimedHead? claimed,
        CancellationToken cancellationToken)
    {
        // Each message's span continues its own sender's trace, so none may start inside another's.
        Activity.Current = null;
        List<Handling> run = [];
        var headActivity = StartActivity(head);
        try
        {
            // A behaviour that awaits I/O (a model run) gives the connection back while it runs: it takes one per step.
            await using var db = new OnDemandConnection(dataSource);
            var connection = await db.OpenAsync(cancellationToken);
            var behaviorName = "unknown";
            try
            {
                // The head's followers are read ahead (one more than the run takes: that one is the next head, claimed by id in
                // the commit) in the round trip that loads the agent, and taken along only by a pure behaviour. A head that was
                // alone when claimed came with its agent, and has none to read.
                var commitLength = Math.Min(options.Value.CommitLength, options.Value.RunLength - handledBefore);
                Agent? loaded = null;
                List<MessageRow> readAhead = [];
                if (claimed is { HasFollowers: false })
                {
                    loaded = new Agent(head.AgentId, claimed.AgentAddress, claimed.AgentConfig);
                }
                else
                {
                    readAhead = await MessageTable.ReadAheadAsync(connection, head, commitLength > 1 ? commitLength : 0, cancellationToken,
                        new RidingStatements(LoadAgent, new { loadedAgentId = head.AgentId },
                            async results => loaded = await results.ReadSingleOrDefaultAsync<Agent>()));
                }

                var agent = loaded ?? throw new InvalidOperationException($"Agent {head.AgentId} does not exist.");
                if (head.Attempts > options.Value.MaxAttempts)
                {
                    // Only a worker that died mid-message, again and again, gets here.
                    throw new InvalidOperationException(
                        $"Attempt {head.Attempts} exceeds the limit; earlier attempts' workers stopped mid-message.");
                }

                var config = JsonNode.Parse(agent.Config) as JsonObject ?? [];
                var behavior = behaviors.For(config);
                behaviorName = BehaviorNameFor(head, behavior);
                if (behavior.Awaits)
                {
                    await db.ReleaseAsync();
                }

                run.Add(await RunBehaviorAsync(behavior, agent, config, head, headActivity, cancellationToken));
                connection = await db.OpenAsync(cancellationToken);
                IReadOnlyList<MessageRow> ahead = behavior.IsPure ? readAhead : [];
                foreach (var message in ahead.Take(commitLength - 1))
                {
                    Activity.Current = null;
                    var activity = StartActivity(message);
                    try
                    {
                        run.Add(await RunBehaviorAsync(behavior, agent, config, message, activity, cancellationToken));
                    }
                    catch (Exception) when (!cancellationToken.IsCancellationRequested)
                    {
                        // It fails (or not) as a head of its own, in the next run: its attempt is counted there.
                        activity?.Dispose();
                        break;
                    }
                }

                var nextId = ahead.Skip(run.Count - 1).FirstOrDefault()?.Id;

                // At shutdown the run ends with the messages in hand: nothing more is claimed to wait out a lease.
                bool ClaimNext(int handled) => handled < options.Value.RunLength && !lifetime.ApplicationStopping.IsCancellationRequested;
                if (run.Count > 1
                    && await CommitRunAsync(connection, agent, run, ClaimNext(handledBefore + run.Count), nextId, fallBack: true,
                        cancellationToken)
                        is { } together)
                {
                    return (handledBefore + run.Count, together.Next);
                }

                // The head alone, when its run could not commit together (a follower canceled or deleted since, a statement of
                // one of them failed): it commits, or fails, by itself, and its followers come again as heads.
                foreach (var follower in run.Skip(1))
                {
                    follower.Activity?.Dispose();
                }

                run = [run[0]];
                return (handledBefore + 1,
                    (await CommitRunAsync(connection, agent, run, ClaimNext(handledBefore + 1), nextId: null, fallBack: false,
                        cancellationToken))?.Next);
            }
            catch (RunParksException parks) when (!cancellationToken.IsCancellationRequested)
            {
                await ParkAsync(await db.OpenAsync(cancellationToken), head, parks.Wait, cancellationToken);
            }
            catch (Exception exception) when (!cancellationToken.IsCancellationRequested && !db.IsBroken(exception))
            {
                headActivity?.AddException(exception);
                headActivity?.SetStatus(ActivityStatusCode.Error, exception.Message);
                await FailAsync(await db.OpenAsync(cancellationToken), head, behaviorName, exception, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            logger.LogInformation("Stopped handling message {MessageId}; its lease will expire and another attempt will follow", head.Id);
        }
        catch (Exception exception)
        {
            headActivity?.SetStatus(ActivityStatusCode.Error, exception.Message);
            logger.LogError(exception,
                "Could not handle or fail message {MessageId}; its lease will expire and another attempt will follow", head.Id);
        }
        finally
        {
            headActivity?.Dispose();
            foreach (var handling in run.Skip(1))
            {
                handling.Activity?.Dispose();
            }
        }

        return (handledBefore + 1, null);
    }

    private static string BehaviorNameFor(MessageRow message, IAgentBehavior behavior) => RunDecisions.EndsConversation(message)
        ? ReplyBehavior : behavior.Name;

    private static async Task<Handling> RunBehaviorAsync(IAgentBehavior behavior, Agent agent, JsonObject config, MessageRow message,
        Activity? activity, CancellationToken cancellationToken)
    {
        var behaviorName = BehaviorNameFor(message, behavior);
        activity?.SetTag("agentcloud.behavior", behaviorName);
        var result = RunDecisions.EndsConversation(message)
            ? null
            : await behavior.HandleAsync(new BehaviorContext(agent.Id, agent.Address ?? "", config, message), cancellationToken);
        return new Handling(message, result, behaviorName, activity);
    }

    /// <summary>
    /// Commits the run's effects and completions in one transaction, fenced on the head's lease. Null when nothing
    /// was committed: the lease was lost (logged), or, with <paramref name="fallBack"/>, any failure, for the caller to
    /// try the head alone.
    /// </summary>
    private async Task<CompletedRun?> CommitRunAsync(NpgsqlConnection connection, Agent agent,
        IReadOnlyList<Handling> run, bool claimNext, Guid? nextId, bool fallBack, CancellationToken cancellationToken)
    {
        try
        {
            // Fenced at the end: the completion commits only while the messages are still ours (see CompleteInboundAsync), and
            // everything before it in this transaction goes with it. A run that sends nothing needs no transaction of its own:
            // its completion is one round trip and one commit, shared with the other runs completing at the same moment.
            List<HandledMessage> handled = [.. run.Select(h =>
                new HandledMessage(h.Message, h.Result, h.Activity?.Id ?? h.Message.Traceparent))];
            var sends = RunDecisions.PlanSends(handled, options.Value.MaxHops);
            await using var transaction = sends.Count > 0 ? await connection.BeginTransactionAsync(cancellationToken) : null;
            Activity.Current = run[0].Activity;
            var (done, lines, sent) = await ApplyRunAsync(connection, transaction, agent, handled, sends, cancellationToken);
            var completion = new RunCompletion(agent.Id, done, lines, claimNext, nextId);
            var completed = transaction is null
                ? await completions.RunAsync((connection, completion))
                : (await MessageTable.CompleteInboundAsync(connection, transaction, worker.LeaseOwner, [completion],
                    options.Value.LeaseDuration,
                    cancellationToken))?[0];
            if (completed is null)
            {
                if (transaction is not null)
                {
                    await transaction.RollbackAsync(cancellationToken);
                }

                if (!fallBack)
                {
                    LeaseLost(run[0].Message);
                }

                return null;
            }

            if (transaction is not null)
            {
                await transaction.CommitAsync(cancellationToken);
            }

            for (var i = 0; i < run.Count; i++)
            {
                wakeups.Finished(run[i].Message.Id);
                metrics.Handled(run[i].BehaviorName, completed.Latencies[i]);
            }

            wakeups.LogWritten(agent.Id);
            foreach (var message in sent)
            {
                if (message.Status == MessageStatus.Dead)
                {
                    wakeups.Finished(message.Id);
                    logger.LogError("Message {MessageId} to {Target} is dead at once: {Error}", message.Id, message.Target, message.Error);
                }
                else
                {
                    wakeups.Queued(message);
                }
            }

            return completed;
        }
        catch (Exception exception) when (fallBack && !cancellationToken.IsCancellationRequested
            && !IsConnectionBroken(exception, connection))
        {
            logger.LogDebug(exception, "Run of {Count} messages from {MessageId} did not commit together; committing its head alone",
                run.Count, run[0].Message.Id);
            return null;
        }
    }

    /// <summary>
    /// What the run's handled messages do in its transaction (<see cref="RunDecisions.Decide"/>), with the I/O the decisions
    /// need: one round trip for all the echo checks, one per target's route, one for all the sends, however long the run.
    /// </summary>
    private async Task<(List<Completion> Completions, List<(string Level, string Message)> Lines, List<MessageRow> Sent)> ApplyRunAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, Agent agent, IReadOnlyList<HandledMessage> run,
            List<PlannedSend> sends,
        CancellationToken cancellationToken)
    {
        // Remote envelopes carry no hop count nor in_reply_to: an echo agent elsewhere answering our echo would otherwise
        // ping-pong for ever. A message repeating what this agent sent its sender in the session gets no answer.
        var echoes = new Dictionary<int, EchoCheckResult>();
        var checks = agent.Address is null
            ? []
            : sends.Where(send => send.IsReply).Select(send => send.Position).Distinct()
                .Select(position => (Position: position, run[position].Message))
                .Select(check => new EchoCheck(check.Position, check.Message.Sender, check.Message.Session, check.Message.SchemaDigest,
                    check.Message.Payload))
                .ToList();
        if (checks.Count > 0)
        {
            var runSends = sends.Select(send => new RunSend(send.Position, send.Target, run[send.Position].Message.Session,
                send.Content.SchemaDigest, RunDecisions.PayloadOf(send.Content))).ToList();
            foreach (var echo in await MessageTable.CheckEchoesAsync(connection, transaction, agent.Id, agent.Address!, checks, runSends,
                         MessageModels.ChatMessage.Digest, cancellationToken))
            {
                echoes[echo.Position] = echo;
            }
        }

        // A target's route cannot change inside the run's transaction.
        var routes = new Dictionary<string, Shared.Messaging.Route>();
        foreach (var target in sends.Select(send => send.Target).Distinct())
        {
            routes[target] = await MessageTable.RouteAsync(connection, transaction, endpointMap, agent.Id, target,
                overHttp: Address.IsUserSender(target), cancellationToken);
        }

        var plan = RunDecisions.Decide(new RunFacts(agent.Id, agent.Address, run, sends, echoes, routes, options.Value.MaxHops),
            Guid.NewGuid);
        var sent = plan.Queued.Count == 0 ? [] : await MessageTable.EnqueueSentAsync(connection, transaction, plan.Queued,
            cancellationToken);
        return (plan.Completions, plan.Lines, sent);
    }

    /// <summary>
    /// Parks the run (fenced like a success): the message waits, holding no lease, for what <paramref name="wait"/> names; the
    /// claim takes it again when that comes or its deadline passes (see <see cref="ParkedRuns"/>).
    /// </summary>
    private async Task ParkAsync(NpgsqlConnection connection, MessageRow message, RunWait wait, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (!await MessageTable.FenceAsync(connection, transaction, message.Id, worker.LeaseOwner, cancellationToken))
        {
            await transaction.RollbackAsync(cancellationToken);
            LeaseLost(message);
            return;
        }

        var woken = await ParkedRuns.ParkAsync(connection, transaction, message, wait, cancellationToken);
        await AgentLogs.WriteAsync(connection, message.AgentId, LogLevels.Info, ParkedLine(message.Id, wait), transaction,
            cancellationToken);
        // Its streams say so with the state: a waiting event (what it waits for, until when) commits with it.
        await RunEvents.AppendAsync(connection, message.Id, Shared.Llm.RunEventTypes.Waiting, wait.Shown.ToJsonString(), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        wakeups.Post(RunEvents.Channel, message.Id.ToString("D"));
        wakeups.LogWritten(message.AgentId);
        metrics.Parked();
        if (woken)
        {
            // What it waits for came while it parked: the claim loops take it again now.
            wakeups.Queued(message);
        }
    }

    private static string ParkedLine(Guid messageId, RunWait wait) =>
        wait.Kind == RunWait.Reply
            ? $"Message {messageId} waits for the reply of {UntrustedText.ForLog(wait.AwaitsFrom ?? "", 200)} to message {wait.Awaits} "
              + $"(until {wait.Until:yyyy-MM-ddTHH:mm:ssZ}), holding no worker"
            : wait.Kind == RunWait.ApprovalKind
                ? $"Message {messageId} waits for a person to approve its call of {wait.Shown["tool"]} (approval {wait.Approval}, until "
                  + $"{wait.Until:yyyy-MM-ddTHH:mm:ssZ}), holding no worker"
                : $"Message {messageId} waits for {wait.Kind} (until {wait.Until:yyyy-MM-ddTHH:mm:ssZ}), holding no worker";

    /// <summary>Records a failed attempt (fenced like a success): retry after a backoff, or dead after the last attempt.</summary>
    private async Task FailAsync(NpgsqlConnection connection, MessageRow message, string behaviorName, Exception exception,
        CancellationToken cancellationToken)
    {
        var settings = options.Value;
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (!await MessageTable.FenceAsync(connection, transaction, message.Id, worker.LeaseOwner, cancellationToken))
        {
            await transaction.RollbackAsync(cancellationToken);
            LeaseLost(message);
            return;
        }

        var error = exception.Message;
        // A refused key or a reached run limit fails every attempt the same way: dead now.
        if (message.Attempts < settings.MaxAttempts && exception is not PermanentBehaviorException)
        {
            var delay = RetryBackoff.Delay(message.Attempts, settings.RetryBaseDelay, settings.RetryMaxDelay);
            await MessageTable.RetryLaterAsync(connection, transaction, message.Id, delay, error, cancellationToken);
            await AgentLogs.WriteAsync(connection, message.AgentId, LogLevels.Warning,
                $"Message {message.Id} failed (attempt {message.Attempts} of {settings.MaxAttempts}): {error}", transaction,
                    cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            wakeups.LogWritten(message.AgentId);
            metrics.Failed(behaviorName);
            logger.LogWarning("Message {MessageId} of agent {AgentId} failed (attempt {Attempt} of {MaxAttempts}), retrying in {Delay}: " +
                "{Error}",
                message.Id, message.AgentId, message.Attempts, settings.MaxAttempts, delay, error);
        }
        else
        {
            await MessageTable.MarkDeadAsync(connection, transaction, message.Id, error, cancellationToken);
            await AgentLogs.WriteAsync(connection, message.AgentId, LogLevels.Error,
                $"Message {message.Id} is dead after {message.Attempts} attempts: {error}", transaction, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            wakeups.Finished(message.Id);
            wakeups.LogWritten(message.AgentId);
            metrics.Dead(behaviorName);
            logger.LogError("Message {MessageId} of agent {AgentId} is dead after {Attempts} attempts: {Error}",
                message.Id, message.AgentId, message.Attempts, error);
        }
    }

    /// <summary>
    /// The span of one handling, named as the messaging conventions name a consumer's processing
    /// (<c>process {destination}</c>); the statements of the handling are its children.
    /// </summary>
    private static Activity? StartActivity(MessageRow message)
    {
        // The sender's trace continues here; without a (valid) traceparent this starts a new trace.
        ActivityContext.TryParse(message.Traceparent, null, out var parent);
        var activity = ActivitySource.StartActivity($"process {NotifyChannels.Inbox}", ActivityKind.Consumer, parent);
        activity?.SetTag("messaging.system", "postgresql");
        activity?.SetTag("messaging.operation.type", "process");
        activity?.SetTag("messaging.operation.name", "process");
        activity?.SetTag("messaging.destination.name", NotifyChannels.Inbox);
        activity?.SetTag("messaging.message.id", message.Id.ToString("D"));
        activity?.SetTag("messaging.message.conversation_id", message.Session.ToString("D"));
        activity?.SetTag("agentcloud.agent.id", message.AgentId);
        activity?.SetTag("agentcloud.message.attempt", message.Attempts);
        return activity;
    }

    private void LeaseLost(MessageRow message) =>
        logger.LogWarning("Lost the lease on message {MessageId} of agent {AgentId}; another worker handles it, nothing committed here",
            message.Id, message.AgentId);

    // A broken connection says nothing about the message: leave it to the lease rather than count a failure.
    private static bool IsConnectionBroken(Exception exception, NpgsqlConnection connection) =>
        exception is NpgsqlException && connection.FullState.HasFlag(System.Data.ConnectionState.Broken)
        || connection.State != System.Data.ConnectionState.Open;

    /// <summary>A handling's pooled connection, given back while a behaviour awaits I/O and taken again for the commit.</summary>
    private sealed class OnDemandConnection(NpgsqlDataSource dataSource) : IAsyncDisposable
    {
        private NpgsqlConnection? connection;

        public async ValueTask<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken) =>
            connection ??= await dataSource.OpenConnectionAsync(cancellationToken);

        public async ValueTask ReleaseAsync()
        {
            if (connection is not null)
            {
                await connection.DisposeAsync();
                connection = null;
            }
        }

        /// <summary>Whether the failure is the held connection's (none held: the failure is the behaviour's).</summary>
        public bool IsBroken(Exception exception) => connection is not null && IsConnectionBroken(exception, connection);

        public ValueTask DisposeAsync() => ReleaseAsync();
    }

    public sealed record Agent(int Id, string? Address, string Config);

    /// <summary>The agent that owns a message (<c>@loadedAgentId</c>); a NULL config reads as <c>{}</c>.</summary>
    private const string LoadAgent =
        "SELECT id, address, COALESCE(config, '{}'::jsonb)::text AS config FROM agents WHERE id = @loadedAgentId";

}
