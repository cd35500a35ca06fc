using AgentCloud.Shared.Llm;
using AgentCloud.Shared.Messaging;
using Dapper;
using Npgsql;

namespace AgentCloud.IntegrationTests;

/// <summary>
/// An approval's decision against a worker that holds the same run (its fence) and appends a run event, against the suite's
/// PostgreSQL: both commit, in the order the locks were asked for. With the advisory lock of the run's events taken before the
/// message's row, the two waited on each other and PostgreSQL killed one (40P01, a 500 at the door). The rows are set up as a
/// worker holding the run would have them, under a lease that expires soon after the test.
/// </summary>
[Collection(AgentCloudCollection.Name)]
public sealed class ApprovalLockOrderTests(AgentCloudFixture fixture)
{
    private const string Owner = "approval-lock-order-tests";

    static ApprovalLockOrderTests() => DefaultTypeMap.MatchNamesWithUnderscores = true;

    [Fact]
    public async Task ADecisionRacingTheWorkerThatHoldsItsRunWaitsForItInsteadOfDeadlocking()
    {
        var user = await fixture.CreateUserAsync();
        var agentId = (await user.CreateAgentAsync(config: new { behavior = "echo" }))["id"]!.GetValue<int>();
        await using var worker = await fixture.OpenDatabaseAsync();
        await using var decider = await fixture.OpenDatabaseAsync();
        var messageId = await worker.QuerySingleAsync<Guid>(
            """
            INSERT INTO messages (agent_id, direction, sender, target, session, payload, status, lease_owner, lease_until, attempts)
            VALUES (@agentId, 'inbound', 'user:0', 'test', gen_random_uuid(), '{"n": 1}', 'processing', @Owner,
                    (now() AT TIME ZONE 'utc') + interval '30 seconds', 1)
            RETURNING id
            """,
            new { agentId, Owner });
        var approvalId = Guid.NewGuid();
        await worker.ExecuteAsync(
            """
            INSERT INTO tool_approvals (id, message_id, agent_id, call_id, tool, arguments, expires_at)
            VALUES (@approvalId, @messageId, @agentId, 'call_1', 'remember', '{}', (now() AT TIME ZONE 'utc') + interval '5 minutes')
            """,
            new { approvalId, messageId, agentId });

        // The worker's step: its fence holds the message's row until it commits.
        await using var step = await worker.BeginTransactionAsync();
        Assert.True(await MessageTable.FenceAsync(worker, step, messageId, Owner, CancellationToken.None));
        var decision = Task.Run(() => ToolApprovals.DecideAsync(decider, agentId, approvalId, approve: true, null, null,
            new ApprovalDecider(user.Id, null, "test"), CancellationToken.None));
        await Wait.ForAsync(async () => decision.IsCompleted || await IsWaitingForALockAsync(decider.ProcessID) ? "" : null, 10);
        Assert.False(decision.IsCompleted);

        // The worker appends while the decision waits: it must not wait on anything the decision holds.
        var stepEvent = await RunEvents.AppendAsync(worker, messageId, RunEventTypes.Delta, """{"text": "hi"}""",
            CancellationToken.None);
        await step.CommitAsync();
        var (outcome, _, decidedEvent) = await decision.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(DecideOutcome.Decided, outcome);
        Assert.Equal((1, 2L), (stepEvent, decidedEvent));
    }

    private async Task<bool> IsWaitingForALockAsync(int pid)
    {
        await using var db = await fixture.OpenDatabaseAsync();
        return await db.QuerySingleAsync<bool>(
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = @pid AND wait_event_type = 'Lock')", new { pid });
    }
}
