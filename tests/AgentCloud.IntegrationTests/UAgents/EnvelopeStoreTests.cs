using System.Security.Cryptography;
using AgentCloud.Shared.Messaging;
using Dapper;

namespace AgentCloud.IntegrationTests;

/// <summary>
/// The store's insert of envelopes that arrive together (<c>/submit</c> shares one statement and commit among them), against
/// the suite's PostgreSQL: each is stored once, in the order given, and a repeat, in the same call or of one stored before,
/// lands on the first copy.
/// </summary>
[Collection(AgentCloudCollection.Name)]
public sealed class EnvelopeStoreTests(AgentCloudFixture fixture)
{
    // The store reads its rows as every host of it configures Dapper (AddAgentCloudDatabase): agent_id is AgentId.
    static EnvelopeStoreTests() => DefaultTypeMap.MatchNamesWithUnderscores = true;

    [Fact]
    public async Task EnvelopesStoredTogetherAreEachStoredOnceAndARepeatFindsTheFirstCopy()
    {
        var user = await fixture.CreateUserAsync();
        var agent = (await user.CreateAgentAsync(config: new { behavior = "echo" }))["id"]!.GetValue<int>();
        await using var db = await fixture.OpenDatabaseAsync();
        var session = Guid.NewGuid();
        // An owner's sender: the worker that handles them sends no reply anywhere.
        NewMessage Envelope(string identity, int n) =>
            new(agent, MessageDirection.Inbound, "user:0", "test", session, $$"""{"n": {{n}}}""", DedupKey: identity);
        var (a, b, c) = (Identity(), Identity(), Identity());

        var before = await MessageTable.EnqueueEnvelopesAsync(db, [Envelope(c, 0)], CancellationToken.None);
        var together = await MessageTable.EnqueueEnvelopesAsync(db, [Envelope(a, 1), Envelope(b, 2), Envelope(a, 3), Envelope(c, 4)],
            CancellationToken.None);

        Assert.False(before[0].Duplicate);
        Assert.Equal([false, false, true, true], together.Select(result => result.Duplicate));
        Assert.Equal(together[0].Message.Id, together[2].Message.Id);
        Assert.Equal(before[0].Message.Id, together[3].Message.Id);
        Assert.True(together[0].Message.Seq < together[1].Message.Seq, "stored in the order given");
        Assert.Equal("""{"n": 1}""", together[2].Message.Payload);
        var stored = await db.QueryAsync<string>(
            "SELECT payload::text FROM messages WHERE agent_id = @agent AND session = @session ORDER BY seq", new { agent, session });
        Assert.Equal(["""{"n": 0}""", """{"n": 1}""", """{"n": 2}"""], stored);
    }

    private static string Identity() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
}
