using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Aspire.Hosting.ApplicationModel;
using Dapper;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCloud.IntegrationTests;

/// <summary>
/// Schedules fired by the two worker replicas of the fixture: each due time sends one message, a stopped pair of workers makes
/// up a missed due time once, and a deleted schedule sends nothing more. The fixture allows schedules a second apart.
/// </summary>
[Collection(AgentCloudCollection.Name)]
public sealed class ScheduleTests(AgentCloudFixture fixture)
{
    [Fact]
    public async Task CronIntervalAndOneTimeSchedulesFireOncePerDueTimeUntilDeleted()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("clockwork", new { behavior = "echo" });
        var session = Guid.NewGuid().ToString("D");
        var cron = await CreateAsync(user, agent, new { cron = "*/2 * * * * *", time_zone = "Europe/Berlin", text = "cron", session });
        var interval = await CreateAsync(user, agent, new { interval_seconds = 1, payload = new { tick = true } });
        var once = await CreateAsync(user, agent, new { at = DateTimeOffset.UtcNow.AddSeconds(2), text = "once" });
        Assert.Equal("cron", cron["kind"]!.GetValue<string>());
        Assert.Equal("interval", interval["kind"]!.GetValue<string>());
        Assert.Equal("once", once["kind"]!.GetValue<string>());

        await Wait.ForAsync(async () =>
            (await FiredAsync(user, agent, cron)) >= 3 && await FiredAsync(user, agent, interval) >= 4
                && await FiredAsync(user, agent, once) == 1 ? "" : null, seconds: 30);
        // A fire may land between the read and the delete: one more than read, never more.
        var cronFired = await FiredAsync(user, agent, cron);
        await DeleteAsync(user, agent, cron);
        var intervalFired = await FiredAsync(user, agent, interval);
        await DeleteAsync(user, agent, interval);

        // Long enough for each deleted schedule to have fired twice more: a control schedule, made now, fires twice.
        var control = await CreateAsync(user, agent, new { interval_seconds = 1, text = "control" });
        await Wait.ForAsync(async () => await FiredAsync(user, agent, control) >= 2 ? "" : null, seconds: 30);
        await DeleteAsync(user, agent, control);

        var due = await DueTimesAsync(agent);
        var cronDue = due.Where(m => m.Schedule == cron["id"]!.GetValue<string>()).ToList();
        var intervalDue = due.Where(m => m.Schedule == interval["id"]!.GetValue<string>()).ToList();
        var onceDue = due.Where(m => m.Schedule == once["id"]!.GetValue<string>()).ToList();
        // One message per due time, none after the delete; every cron due time on an even second, in its one session.
        Assert.True(cronDue.Count >= 3 && cronDue.Count <= cronFired + 1, $"cron: {cronDue.Count} messages, fired {cronFired}");
        Assert.Equal(cronDue.Count, cronDue.Select(m => m.Due).Distinct().Count());
        Assert.All(cronDue, m => Assert.Equal(0, m.Due.Second % 2));
        Assert.All(cronDue, m => Assert.Equal(session, m.Session));
        Assert.True(intervalDue.Count >= 4 && intervalDue.Count <= intervalFired + 1,
            $"interval: {intervalDue.Count}, fired {intervalFired}");
        Assert.Equal(intervalDue.Count, intervalDue.Select(m => m.Due).Distinct().Count());
        Assert.Equal(intervalDue.Count, intervalDue.Select(m => m.Session).Distinct().Count());
        Assert.Single(onceDue);
        Assert.Equal(once["next_due_at"]!.GetValue<DateTime>(), onceDue[0].Due, TimeSpan.FromMilliseconds(1));

        // The messages are the owner's, handled by the agent like any other.
        var messages = await MessagingTests.ListMessagesAsync(user, agent, "?direction=inbound&limit=100");
        Assert.All(messages, m => Assert.Equal($"user:{user.Id}", m["sender"]!.GetValue<string>()));
        Assert.Contains(messages, m => m["payload"]!.ToJsonString() == """{"tick":true}""");
        var onceNow = await GetAsync(user, agent, once);
        Assert.Null(onceNow["next_due_at"]);
        Assert.Equal(onceDue[0].Message, onceNow["last_message_id"]!.GetValue<string>());
    }

    [Fact]
    public async Task AMissedDueTimeFiresOnceWhenTheWorkersAreBack()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("sleeper", new { behavior = "echo" });
        var replicas = await fixture.RunningAsync("agent-worker");
        Assert.Equal(2, replicas.Count);
        var commands = fixture.App.Services.GetRequiredService<ResourceCommandService>();
        var notifications = fixture.App.Services.GetRequiredService<ResourceNotificationService>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        foreach (var replica in replicas)
        {
            var stopped = await commands.ExecuteCommandAsync(replica.ResourceId, KnownResourceCommands.StopCommand, timeout.Token);
            Assert.True(stopped.Success, stopped.Message);
        }

        DateTime back;
        JsonObject interval;
        try
        {
            foreach (var replica in replicas)
            {
                await notifications.WaitForResourceAsync("agent-worker",
                    e => e.ResourceId == replica.ResourceId && e.Snapshot.State?.Text is "Exited" or "Finished", timeout.Token);
            }

            interval = await CreateAsync(user, agent, new { interval_seconds = 2, text = "missed" });
            var firstDue = interval["next_due_at"]!.GetValue<DateTime>();
            // Three due times pass with no worker running.
            while (DateTime.UtcNow < firstDue.AddSeconds(5))
            {
                await Task.Delay(200, timeout.Token);
            }
        }
        finally
        {
            foreach (var replica in replicas)
            {
                var started = await commands.ExecuteCommandAsync(replica.ResourceId, KnownResourceCommands.StartCommand, timeout.Token);
                Assert.True(started.Success, started.Message);
            }

            back = DateTime.UtcNow;
            foreach (var replica in replicas)
            {
                await notifications.WaitForResourceAsync("agent-worker",
                    e => e.ResourceId == replica.ResourceId && e.Snapshot.State?.Text == KnownResourceStates.Running
                        && e.Snapshot.HealthStatus == Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy,
                    timeout.Token);
            }
        }

        await Wait.ForAsync(async () => await FiredAsync(user, agent, interval) >= 2 ? "" : null, seconds: 30);
        await DeleteAsync(user, agent, interval);
        var due = await DueTimesAsync(agent);
        // The first due time is made up once (not once per period missed), then the cadence goes on from the present.
        Assert.Single(due, m => m.Due < back);
        Assert.Equal(interval["next_due_at"]!.GetValue<DateTime>(), due[0].Due, TimeSpan.FromMilliseconds(1));
        Assert.All(due.Skip(1), m => Assert.True(m.Due > back, $"due {m.Due:O}, workers back at {back:O}"));
        Assert.Equal(2, (await fixture.RunningAsync("agent-worker")).Count);
    }

    [Fact]
    public async Task AScheduledMessageCountsAgainstTheOwnersDayAndADueTimeBeyondItSendsNothing()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("thrifty", new { behavior = "echo" });
        // One message of the day's 10,000 (Quotas:MessagesPerDay) is left.
        await using (var db = await fixture.OpenDatabaseAsync())
        {
            await db.ExecuteAsync("INSERT INTO usage_daily (user_id, day, messages) VALUES (@id, (now() AT TIME ZONE 'utc')::date, @used)",
                new { id = user.Id, used = 10_000 - 1 });
        }

        var schedule = await CreateAsync(user, agent, new { interval_seconds = 1, text = "tick" });
        var refused = await Wait.ForAsync(async () => await GetAsync(user, agent, schedule) is { } now && now["last_error"] is JsonValue
            ? now : null, seconds: 30);
        await DeleteAsync(user, agent, schedule);

        Assert.Contains("messages_per_day", refused["last_error"]!.GetValue<string>());
        Assert.Single(await DueTimesAsync(agent));
        using var logs = await user.Client.GetAsync($"/agents/{agent["id"]}/logs?level=warning");
        Assert.Contains((await logs.ReadJsonAsync())["items"]!.AsArray(),
            line => line!["message"]!.GetValue<string>().Contains("messages_per_day", StringComparison.Ordinal));
    }

    [Fact]
    public async Task BadSchedulesAre400AndAnotherUsersAgentIs404()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("strict", new { behavior = "echo" });
        object[] bad =
        [
            new { cron = "61 * * * *", text = "x" },
            new { cron = "0 9 * * *", time_zone = "Mars/Olympus_Mons", text = "x" },
            new { interval_seconds = 0, text = "x" },
            new { cron = "*/0.5 * * * * *", text = "x" },
            new { at = DateTimeOffset.UtcNow.AddMinutes(-1), text = "x" },
            new { interval_seconds = 60, cron = "0 9 * * *", text = "x" },
            new { interval_seconds = 60 },
            new { interval_seconds = 60, text = "x", session = "not-a-uuid" },
        ];
        foreach (var body in bad)
        {
            using var refused = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/schedules", body);
            await refused.AssertProblemAsync(HttpStatusCode.BadRequest);
        }

        using (var list = await user.Client.GetAsync($"/agents/{agent["id"]}/schedules"))
        {
            Assert.Empty((await list.ReadJsonAsync())["schedules"]!.AsArray());
        }

        var schedule = await CreateAsync(user, agent, new { cron = "0 9 * * MON-FRI", time_zone = "America/New_York", text = "standup" });
        using (var replaced = await user.Client.PutAsJsonAsync($"/agents/{agent["id"]}/schedules/{schedule["id"]}",
            new { interval_seconds = 3600, text = "hourly" }))
        {
            Assert.Equal(HttpStatusCode.OK, replaced.StatusCode);
            Assert.Equal("interval", (await replaced.ReadJsonAsync())["kind"]!.GetValue<string>());
        }

        var stranger = await fixture.CreateUserAsync();
        using var create = await stranger.Client.PostAsJsonAsync($"/agents/{agent["id"]}/schedules",
            new { interval_seconds = 60, text = "x" });
        using var read = await stranger.Client.GetAsync($"/agents/{agent["id"]}/schedules/{schedule["id"]}");
        using var remove = await stranger.Client.DeleteAsync($"/agents/{agent["id"]}/schedules/{schedule["id"]}");
        await create.AssertProblemAsync(HttpStatusCode.NotFound);
        await read.AssertProblemAsync(HttpStatusCode.NotFound);
        await remove.AssertProblemAsync(HttpStatusCode.NotFound);
        using var missing = await user.Client.GetAsync($"/agents/{agent["id"]}/schedules/{Guid.NewGuid()}");
        await missing.AssertProblemAsync(HttpStatusCode.NotFound);

        // Deleting the agent takes its schedules with it.
        using (await user.Client.DeleteAsync($"/agents/{agent["id"]}"))
        {
        }

        await using var db = await fixture.OpenDatabaseAsync();
        Assert.Equal(0, await db.ExecuteScalarAsync<long>("SELECT count(*) FROM agent_schedules WHERE id = @id::uuid",
            new { id = schedule["id"]!.GetValue<string>() }));
    }

    private static async Task<JsonObject> CreateAsync(TestUser user, JsonObject agent, object body)
    {
        using var response = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/schedules", body);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return await response.ReadJsonAsync();
    }

    private static async Task<JsonObject> GetAsync(TestUser user, JsonObject agent, JsonObject schedule)
    {
        using var response = await user.Client.GetAsync($"/agents/{agent["id"]}/schedules/{schedule["id"]}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.ReadJsonAsync();
    }

    private static async Task DeleteAsync(TestUser user, JsonObject agent, JsonObject schedule)
    {
        using var response = await user.Client.DeleteAsync($"/agents/{agent["id"]}/schedules/{schedule["id"]}");
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
    }

    private static async Task<int> FiredAsync(TestUser user, JsonObject agent, JsonObject schedule) =>
        (await GetAsync(user, agent, schedule))["fired"]!.GetValue<int>();

    private sealed record Fired(string Schedule, DateTime Due, string Message, string Session);

    // The due time each message carries in its idempotency key (schedule:{id}:{due}), oldest first.
    private async Task<List<Fired>> DueTimesAsync(JsonObject agent)
    {
        await using var db = await fixture.OpenDatabaseAsync();
        var rows = await db.QueryAsync<(string Key, Guid Id, Guid Session)>(
            "SELECT idempotency_key, id, session FROM messages WHERE agent_id = @id AND idempotency_key LIKE 'schedule:%' ORDER BY seq",
            new { id = agent["id"]!.GetValue<int>() });
        return [.. rows.Select(r =>
        {
            var parts = r.Key.Split(':', 3);
            return new Fired(parts[1], DateTime.Parse(parts[2], CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal),
                r.Id.ToString("D"), r.Session.ToString("D"));
        })];
    }
}
