using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace AgentCloud.IntegrationTests;

/// <summary>
/// The web console in a real browser (Debian's Chromium through Playwright) against the whole AppHost: what a
/// person sees, with the answers coming from the API, the worker and the scripted model. Each test saves
/// screenshots of the pages it visits under the test output's screenshots folder.
/// </summary>
[Collection(AgentCloudCollection.Name)]
public sealed class WebConsoleTests(AgentCloudFixture fixture)
{
    [Fact]
    public async Task APersonSignsUpCreatesAnEchoAgentSendsAMessageAndSeesTheReply()
    {
        await using var browser = await ConsoleBrowser.OpenAsync(fixture);
        var page = browser.Page;
        var username = TestApi.UniqueName("web");

        await page.GotoAsync("signup");
        await browser.ScreenshotAsync("signup");
        await page.GetByLabel("Username").FillAsync(username);
        await page.GetByLabel("Email").FillAsync($"{username}@example.com");
        await page.GetByLabel("Password").FillAsync("correct horse battery staple");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign up" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Your agents" })).ToBeVisibleAsync();
        await Expect(page.GetByText("No agents yet")).ToBeVisibleAsync();

        await page.GetByRole(AriaRole.Link, new() { Name = "New agent" }).ClickAsync();
        await browser.WaitUntilInteractiveAsync("form.agent-form");
        await page.GetByLabel("Name").FillAsync("parrot");
        await page.GetByLabel("Behaviour").SelectOptionAsync("echo");
        await browser.ScreenshotAsync("agent-new");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create agent" }).ClickAsync();

        await Expect(page).ToHaveURLAsync(new Regex(@"/agents/\d+/chat$"));
        await browser.WaitUntilInteractiveAsync("form.composer");
        await page.GetByLabel("Message", new() { Exact = true }).FillAsync("hello console");
        await page.GetByRole(AriaRole.Button, new() { Name = "Send" }).ClickAsync();
        var reply = page.Locator(".bubble.agent[data-state=done] .answer");
        await Expect(reply).ToHaveTextAsync("hello console");
        await Expect(page).ToHaveURLAsync(new Regex(@"/chat\?session=[0-9a-f-]{36}$"));
        await browser.ScreenshotAsync("chat-echo");

        await page.GetByRole(AriaRole.Link, new() { Name = "Details" }).Last.ClickAsync();
        await Expect(page.Locator(".facts [data-status]")).ToHaveTextAsync("done");
        await Expect(page.Locator("#trace-id")).ToHaveTextAsync(new Regex("^[0-9a-f]{32}$"));
        await browser.ScreenshotAsync("message-echo");

        await page.GetByRole(AriaRole.Link, new() { Name = "Agents", Exact = true }).ClickAsync();
        var row = page.Locator("tr", new() { HasText = "parrot" });
        await Expect(row.Locator("td.address code")).ToHaveTextAsync(new Regex("^agent1[a-z0-9]+$"));
        await Expect(row.GetByRole(AriaRole.Button, new() { Name = "Copy the address of parrot" })).ToBeVisibleAsync();
        await Expect(row).ToContainTextAsync("echo");
        await Expect(row).ToContainTextAsync("idle");
        await browser.ScreenshotAsync("agents");
    }

    [Fact]
    public async Task AnLlmAgentsAnswerAppearsPieceByPieceAsTheModelStreamsIt()
    {
        const string answer = "Teal is a calm blue-green colour, named after a duck.";
        var script = fixture.Models.NewScript(new TextReply(answer) { ChunkDelay = TimeSpan.FromSeconds(4) });
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("colours", new { behavior = "llm", instructions = $"{script.Marker} Be brief." });
        await using var browser = await ConsoleBrowser.OpenAsync(fixture);
        var page = browser.Page;

        await browser.LogInAsync(user, $"agents/{agent["id"]}/chat");
        await browser.WaitUntilInteractiveAsync("form.composer");
        await page.GetByLabel("Message", new() { Exact = true }).FillAsync("What is teal?");
        await page.GetByRole(AriaRole.Button, new() { Name = "Send" }).ClickAsync();

        // The model sends the first half, waits, then the rest: the page shows the first half alone in between.
        var bubble = page.Locator(".bubble.agent").Last;
        await Expect(bubble.Locator(".answer")).ToHaveTextAsync(answer[..(answer.Length / 2)]);
        await Expect(bubble).ToHaveAttributeAsync("data-state", "processing");
        await browser.ScreenshotAsync("chat-llm-streaming");
        await Expect(bubble.Locator(".answer")).ToHaveTextAsync(answer);
        await Expect(bubble).ToHaveAttributeAsync("data-state", "done");
        await browser.ScreenshotAsync("chat-llm");
    }

    [Fact]
    public async Task AToolCallAndItsResultAreShownInlineAndInTheMessagesTimeline()
    {
        var script = fixture.Models.NewScript(
            new ToolCallsReply(("call_1", "remember", """{"key":"colour","value":"teal"}""")),
            new TextReply("I will remember that your colour is teal."));
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("memory", new { behavior = "llm", instructions = script.Marker,
            tools = new[] { "remember" } });
        await using var browser = await ConsoleBrowser.OpenAsync(fixture);
        var page = browser.Page;

        await browser.LogInAsync(user, $"agents/{agent["id"]}/chat");
        await browser.WaitUntilInteractiveAsync("form.composer");
        await page.GetByLabel("Message", new() { Exact = true }).FillAsync("My colour is teal; remember it.");
        await page.GetByRole(AriaRole.Button, new() { Name = "Send" }).ClickAsync();

        await Expect(page.Locator(".bubble.agent[data-state=done] .answer")).ToHaveTextAsync("I will remember that your colour is teal.");
        var call = page.Locator("details", new() { Has = page.Locator("summary", new() { HasText = "Tool call: remember" }) });
        var result = page.Locator("details", new() { Has = page.Locator("summary", new() { HasText = "Tool result: remember" }) });
        await Expect(call.Locator("pre")).ToBeHiddenAsync(); // collapsed until opened
        await call.Locator("summary").ClickAsync();
        await Expect(call.Locator("pre")).ToContainTextAsync("\"value\":\"teal\"");
        await result.Locator("summary").ClickAsync();
        await Expect(result.Locator("pre")).ToBeVisibleAsync();
        await browser.ScreenshotAsync("chat-tools");

        // The stored conversation shows the same after a reload.
        await page.ReloadAsync();
        await Expect(page.Locator("summary", new() { HasText = "Tool call: remember" })).ToBeVisibleAsync();
        await Expect(page.Locator(".bubble.agent").Last).ToContainTextAsync("I will remember that your colour is teal.");

        await page.GetByRole(AriaRole.Link, new() { Name = "Details" }).Last.ClickAsync();
        await Expect(page.Locator(".facts [data-status]")).ToHaveTextAsync("done");
        var steps = page.Locator(".timeline .step");
        await Expect(steps).ToHaveCountAsync(5); // model call, tool call, tool result, model call, answer
        await Expect(steps.Nth(1)).ToContainTextAsync("Tool call: remember");
        await Expect(page.Locator(".usage")).ToContainTextAsync("2 model calls, 22 input and 14 output tokens");
        await browser.ScreenshotAsync("message-llm");
    }

    [Fact]
    public async Task AFailedMessageShowsItsReasonAndARetrySendsItAgain()
    {
        var script = fixture.Models.NewScript((n, _) => n == 0 ? new ErrorReply(401, "Incorrect API key provided")
            : new TextReply("Second time lucky."));
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("flaky", new { behavior = "llm", instructions = script.Marker });
        await using var browser = await ConsoleBrowser.OpenAsync(fixture);
        var page = browser.Page;

        await browser.LogInAsync(user, $"agents/{agent["id"]}/chat");
        await browser.WaitUntilInteractiveAsync("form.composer");
        await page.GetByLabel("Message", new() { Exact = true }).FillAsync("Are you there?");
        await page.GetByRole(AriaRole.Button, new() { Name = "Send" }).ClickAsync();

        var failed = page.Locator(".bubble.agent[data-state=failed]");
        await Expect(failed.Locator(".failed")).ToContainTextAsync("Incorrect API key provided");
        await browser.ScreenshotAsync("chat-failed");
        await failed.GetByRole(AriaRole.Button, new() { Name = "Retry" }).ClickAsync();
        await Expect(page.Locator(".bubble.agent[data-state=done] .answer")).ToHaveTextAsync("Second time lucky.");
        await Expect(failed).ToHaveCountAsync(0);
        Assert.Equal(2, script.Count);
    }

    [Fact]
    public async Task TheLiveLogShowsALineWrittenAfterThePageOpenedAndPausesAndFilters()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("logged", new { behavior = "echo" });
        await using var browser = await ConsoleBrowser.OpenAsync(fixture);
        var page = browser.Page;

        await browser.LogInAsync(user, $"agents/{agent["id"]}/log");
        await Expect(page.Locator(".live-state")).ToHaveAttributeAsync("data-state", "live");
        await Expect(page.Locator(".log .line")).ToHaveCountAsync(1);
        await Expect(page.Locator(".log .line")).ToContainTextAsync("Agent created");

        using (var update = await user.Client.PutAsJsonAsync($"/agents/{agent["id"]}", new { config = new { behavior = "echo", v = 2 } }))
        {
            Assert.Equal(HttpStatusCode.OK, update.StatusCode);
        }

        await Expect(page.Locator(".log .line").Last).ToContainTextAsync("Agent config updated");
        await browser.ScreenshotAsync("log");

        await page.GetByRole(AriaRole.Button, new() { Name = "Pause" }).ClickAsync();
        using (var update = await user.Client.PutAsJsonAsync($"/agents/{agent["id"]}", new { config = new { behavior = "echo", v = 3 } }))
        {
            Assert.Equal(HttpStatusCode.OK, update.StatusCode);
        }

        await Expect(page.Locator(".live-state")).ToHaveTextAsync("Paused: 1 new line waiting");
        await Expect(page.Locator(".log .line")).ToHaveCountAsync(2);
        await page.GetByRole(AriaRole.Button, new() { Name = "Resume" }).ClickAsync();
        await Expect(page.Locator(".log .line")).ToHaveCountAsync(3);

        await page.GetByLabel("Level").SelectOptionAsync("ERROR");
        await Expect(page.Locator(".log .line")).ToHaveCountAsync(0);
        await page.GetByLabel("Level").SelectOptionAsync("");
        await Expect(page.Locator(".log .line")).ToHaveCountAsync(3);
    }

    [Fact]
    public async Task ABadConfigShowsTheApisFieldErrorsNextToTheFields()
    {
        var user = await fixture.CreateUserAsync();
        await using var browser = await ConsoleBrowser.OpenAsync(fixture);
        var page = browser.Page;

        await browser.LogInAsync(user, "agents/new");
        await browser.WaitUntilInteractiveAsync("form.agent-form");
        await page.GetByLabel("Name").FillAsync("relay");
        await page.GetByLabel("Behaviour").SelectOptionAsync("forward");
        await page.GetByLabel("Target address").FillAsync("nowhere");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create agent" }).ClickAsync();
        await Expect(page.Locator("#target-error")).ToContainTextAsync("config.target must be an agent address");
        await Expect(page.GetByLabel("Target address")).ToHaveAttributeAsync("aria-invalid", "true");

        await page.GetByLabel("Behaviour").SelectOptionAsync("llm");
        await page.GetByLabel("More tools").FillAsync("teleport");
        await page.GetByLabel("Temperature").FillAsync("3");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create agent" }).ClickAsync();
        await Expect(page.Locator("#tools-error")).ToContainTextAsync("config.tools: 'teleport' is not a tool");
        await Expect(page.Locator("#temperature-error")).ToContainTextAsync("config.temperature must be a number from 0 to 2");
        await browser.ScreenshotAsync("agent-form-errors");
        await Expect(page).ToHaveURLAsync(new Regex("/agents/new$"));

        using var agents = await user.Client.GetAsync("/agents");
        Assert.Empty((await agents.ReadJsonAsync())["items"]!.AsArray());
    }

    [Fact]
    public async Task AnotherUsersAgentUrlShowsTheNotFoundPage()
    {
        var owner = await fixture.CreateUserAsync();
        var agent = await owner.CreateAgentAsync("private", new { behavior = "echo" });
        var stranger = await fixture.CreateUserAsync();
        await using var browser = await ConsoleBrowser.OpenAsync(fixture);
        var page = browser.Page;

        await browser.LogInAsync(stranger);
        foreach (var path in new[] { "chat", "edit", "log", $"messages/{Guid.NewGuid()}" })
        {
            await page.GotoAsync($"agents/{agent["id"]}/{path}");
            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Not found" })).ToBeVisibleAsync();
            await Expect(page.Locator("main")).Not.ToContainTextAsync("private");
        }

        await browser.ScreenshotAsync("not-found");
    }

    [Fact]
    public async Task AReloadKeepsTheSessionAndAnEndedOneGoesToLoginAndBack()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("kept", new { behavior = "echo" });
        await using var browser = await ConsoleBrowser.OpenAsync(fixture);
        var page = browser.Page;

        await browser.LogInAsync(user, "keys");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "API keys & usage" })).ToBeVisibleAsync();
        await page.ReloadAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "API keys & usage" })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Log out" })).ToBeVisibleAsync();
        await Expect(page.Locator(".quotas")).ToContainTextAsync("Agents");
        // Off the interactive keys page, whose own late first load would otherwise find the ended session first
        // and send the browser to the login page with its own place; the agents list is server-rendered only.
        await page.GotoAsync("agents");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Your agents", Exact = true })).ToBeVisibleAsync();

        // Every token of the user ends (as after a logout elsewhere): the next page the API refuses goes to the login page.
        using (var logout = await user.Client.PostAsync("/logout?all=true", null))
        {
            Assert.Equal(HttpStatusCode.NoContent, logout.StatusCode);
        }

        // The page answers by moving on to the login page, and Chromium reports the first navigation as aborted
        // when the next one replaces it: where the browser ends up is what counts.
        try
        {
            await page.GotoAsync($"agents/{agent["id"]}/chat", new() { WaitUntil = WaitUntilState.Commit });
        }
        catch (PlaywrightException aborted) when (aborted.Message.Contains("ERR_ABORTED", StringComparison.Ordinal))
        {
        }

        await Expect(page).ToHaveURLAsync(new Regex(@"/login\?expired=true&returnUrl=%2Fagents%2F\d+%2Fchat$"));
        await Expect(page.GetByText("Your session has ended")).ToBeVisibleAsync();
        await browser.ScreenshotAsync("login-expired");
        await page.GetByLabel("Username").FillAsync(user.Username);
        await page.GetByLabel("Password").FillAsync(user.Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Log in" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex($@"/agents/{agent["id"]}/chat$"));
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "kept" })).ToBeVisibleAsync();

        await page.GetByRole(AriaRole.Button, new() { Name = "Log out" }).ClickAsync();
        await Expect(page.GetByText("You are logged out.")).ToBeVisibleAsync();
        await page.GotoAsync("agents");
        await Expect(page).ToHaveURLAsync(new Regex(@"/login\?returnUrl=%2Fagents$"));
    }

    [Fact]
    public async Task AnApiKeyIsShownOnceWorksAndIsRevoked()
    {
        var user = await fixture.CreateUserAsync();
        await using var browser = await ConsoleBrowser.OpenAsync(fixture);
        var page = browser.Page;

        await browser.LogInAsync(user, "keys");
        await browser.WaitUntilInteractiveAsync("form.key-form");
        await page.GetByLabel("Name").FillAsync("ci script");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create key" }).ClickAsync();
        var key = (await page.Locator("#new-key").TextContentAsync())!;
        Assert.StartsWith("ak_", key);
        await Expect(page.Locator("table.keys")).ToContainTextAsync("ci script");
        await browser.ScreenshotAsync("keys");

        using var client = fixture.CreateApiClient();
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/agents").WithBearer(key))
        using (var response = await client.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await page.GetByRole(AriaRole.Button, new() { Name = "Revoke ci script" }).ClickAsync();
        await Expect(page.Locator("table.keys")).ToHaveCountAsync(0);
        await page.ReloadAsync();
        await Expect(page.Locator("#new-key")).ToHaveCountAsync(0); // shown once only
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/agents").WithBearer(key))
        using (var response = await client.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
    }

    [Fact]
    public async Task AWebhookIsAddedWithItsSecretShownOnceListsItsDeliveriesAndIsDeleted()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync(config: new { behavior = "echo" });
        await using var browser = await ConsoleBrowser.OpenAsync(fixture);
        var page = browser.Page;

        await browser.LogInAsync(user, "webhooks");
        await browser.WaitUntilInteractiveAsync("form.webhook-form");
        // Nothing listens there (the discard port): the delivery fails, which the page shows as well as a success.
        await page.GetByLabel("URL").FillAsync("http://127.0.0.1:9/hook");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add webhook" }).ClickAsync();
        Assert.StartsWith("whsec_", (await page.Locator("#new-secret").TextContentAsync())!);
        await Expect(page.Locator("section.webhook")).ToContainTextAsync("http://127.0.0.1:9/hook");

        using var sent = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages?wait=20", new { payload = "hooked" });
        Assert.Equal(HttpStatusCode.OK, sent.StatusCode);
        await page.ReloadAsync();
        await Expect(page.Locator("#new-secret")).ToHaveCountAsync(0); // shown once only
        await Expect(page.Locator("table.deliveries")).ToContainTextAsync("message.done");

        await browser.WaitUntilInteractiveAsync("form.webhook-form");
        await page.GetByRole(AriaRole.Button, new() { Name = "Delete the webhook http://127.0.0.1:9/hook" }).ClickAsync();
        await Expect(page.Locator("section.webhook")).ToHaveCountAsync(0);
        using var listed = await user.Client.GetAsync("/webhooks");
        Assert.Equal("[]", await listed.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AScheduleIsAddedOnTheAgentsPageShowsWhatItSentAndIsDeleted()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync(config: new { behavior = "echo" });
        await using var browser = await ConsoleBrowser.OpenAsync(fixture);
        var page = browser.Page;

        await browser.LogInAsync(user, $"agents/{agent["id"]}/edit");
        await browser.WaitUntilInteractiveAsync("section.schedules");
        // A cron expression the API refuses shows its field error and adds nothing.
        await page.Locator("#schedule-cron").FillAsync("61 * * * *");
        await page.Locator("#schedule-text").FillAsync("tick");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add schedule" }).ClickAsync();
        await Expect(page.Locator("section.schedules .form-error")).ToContainTextAsync("The schedule was not added");
        await page.Locator("#schedule-kind").SelectOptionAsync("interval");
        await page.Locator("#schedule-interval").FillAsync("1");
        await page.Locator("#schedule-text").FillAsync("tick");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add schedule" }).ClickAsync();
        var row = page.Locator("tr[data-schedule]");
        await Expect(row).ToContainTextAsync("every 1 s");
        await Expect(row).ToContainTextAsync("tick");

        await Wait.ForAsync(async () => (await LlmAgentTests.GetJsonAsync(user, $"/agents/{agent["id"]}/schedules"))["schedules"]!
            .AsArray().Single()!["fired"]!.GetValue<int>() >= 1 ? "" : null);
        await page.ReloadAsync();
        await browser.WaitUntilInteractiveAsync("section.schedules");
        await Expect(row.Locator("td").Nth(2)).Not.ToHaveTextAsync("0");
        await page.GetByRole(AriaRole.Button, new() { Name = "Delete schedule every 1 s" }).ClickAsync();
        await Expect(row).ToHaveCountAsync(0);
        Assert.Empty((await LlmAgentTests.GetJsonAsync(user, $"/agents/{agent["id"]}/schedules"))["schedules"]!.AsArray());
    }

    [Fact]
    public async Task AToolCallThatNeedsApprovalIsApprovedOnTheChatAndDeniedFromTheApprovalsPage()
    {
        var script = fixture.Models.NewScript((_, body) => body["messages"]!.AsArray()[^1]!["role"]!.GetValue<string>() == "tool"
            ? new TextReply($"The tool said: {LlmAgentTests.LastToolResult(body)}")
            : new ToolCallsReply(("call_1", "remember", """{"key":"colour","value":"teal"}""")));
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("careful", new
        {
            behavior = "llm", instructions = script.Marker, tools = new[] { "remember" }, approve = new[] { "remember" },
        });
        await using var browser = await ConsoleBrowser.OpenAsync(fixture);
        var page = browser.Page;

        await browser.LogInAsync(user, $"agents/{agent["id"]}/chat");
        await browser.WaitUntilInteractiveAsync("form.composer");
        await page.GetByLabel("Message", new() { Exact = true }).FillAsync("My colour is teal; remember it.");
        await page.GetByRole(AriaRole.Button, new() { Name = "Send" }).ClickAsync();
        var card = page.Locator(".approval-card[data-status=pending]");
        await Expect(card).ToContainTextAsync("remember");
        await Expect(card.Locator("pre")).ToContainTextAsync("teal");
        await browser.ScreenshotAsync("chat-approval");
        await card.GetByRole(AriaRole.Button, new() { Name = "Approve" }).ClickAsync();
        await Expect(page.Locator(".approval-card[data-status=approved]")).ToBeVisibleAsync();
        await Expect(page.Locator(".bubble.agent[data-state=done] .answer")).ToContainTextAsync("The tool said:");

        // A second one, sent elsewhere: listed on the Approvals page and on its message's page, denied from the list.
        using var sent = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages", new { text = "Remember it again." });
        var id = (await sent.ReadJsonAsync())["id"]!.GetValue<string>();
        await Wait.ForAsync(async () =>
            (await LlmAgentTests.GetJsonAsync(user,
                $"/agents/{agent["id"]}/messages/{id}"))["status"]!.GetValue<string>() == "waiting" ? "" : null);
        await page.GotoAsync($"agents/{agent["id"]}/messages/{id}");
        await Expect(page.Locator("#waiting-for")).ToContainTextAsync("your approval");
        await Expect(page.Locator(".approval-card[data-status=pending]")).ToBeVisibleAsync();
        await page.GotoAsync("approvals");
        await browser.WaitUntilInteractiveAsync("ul.approvals");
        await AssertAccessibleAsync(page, "approvals");
        await page.GetByLabel("Reason (optional; on a denial the model reads it)").FillAsync("once is enough");
        await page.GetByRole(AriaRole.Button, new() { Name = "Deny" }).ClickAsync();
        await Expect(page.Locator(".approval-card[data-status=denied]")).ToContainTextAsync("once is enough");
        var done = await Wait.ForAsync(async () =>
            await LlmAgentTests.GetJsonAsync(user,
                $"/agents/{agent["id"]}/messages/{id}") is { } m && m["status"]!.GetValue<string>() == "done" ? m : null);
        Assert.Equal("The tool said: A person denied this call: once is enough", done["reply"]!.GetValue<string>());
    }

    [Fact]
    public async Task EveryPageHasNoSeriousAccessibilityViolations()
    {
        var script = fixture.Models.NewScript(new ToolCallsReply(("call_1", "recall", """{"key":"colour"}""")),
            new TextReply("Nothing stored yet."));
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("checked", new
            { behavior = "llm", instructions = script.Marker, tools = new[] { "recall" } });
        using var sent = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages?wait=30", new { text = "What is my colour?" });
        var message = await sent.ReadJsonAsync();
        Assert.Equal("done", message["status"]!.GetValue<string>());
        await using var browser = await ConsoleBrowser.OpenAsync(fixture);
        var page = browser.Page;

        await page.GotoAsync("signup");
        await AssertAccessibleAsync(page, "signup");
        await browser.LogInAsync(user);
        foreach (var path in new[]
        {
            "agents", "agents/new", $"agents/{agent["id"]}/edit", $"agents/{agent["id"]}/chat?session={message["session"]}",
            $"agents/{agent["id"]}/messages/{message["id"]}", $"agents/{agent["id"]}/log", "keys", "webhooks", "approvals",
                "agents/999999/chat",
        })
        {
            await page.GotoAsync(path);
            await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
            await AssertAccessibleAsync(page, path);
        }
    }

    /// <summary>axe-core's serious and critical rules (contrast, labels, names, landmarks' basics) on the page as shown.</summary>
    private static async Task AssertAccessibleAsync(IPage page, string what)
    {
        var result = await page.RunAxe();
        var serious = result.Violations.Where(v => v.Impact is "serious" or "critical")
            .Select(v => $"{v.Id} ({v.Impact}): {v.Help} at {string.Join(", ", v.Nodes.Select(n => n.Target?.ToString()))}")
            .ToList();
        Assert.True(serious.Count == 0, $"{what}:\n" + string.Join('\n', serious));
    }

    [Fact]
    public async Task OnAPhoneSizedWindowTheChatFitsTheScreen()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("pocket", new { behavior = "echo" });
        await using var browser = await ConsoleBrowser.OpenAsync(fixture, width: 390, height: 800);
        var page = browser.Page;

        await browser.LogInAsync(user, $"agents/{agent["id"]}/chat");
        await browser.WaitUntilInteractiveAsync("form.composer");
        await page.GetByLabel("Message", new() { Exact = true }).FillAsync("small screen");
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Send" })).ToBeEnabledAsync(); // enabled once there is text
        await page.Keyboard.PressAsync("Tab");
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Send" })).ToBeFocusedAsync();
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.Locator(".bubble.agent[data-state=done] .answer")).ToHaveTextAsync("small screen");
        var overflow = await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth > window.innerWidth");
        Assert.False(overflow, "the page scrolls sideways on a 390 px wide window");
        await browser.ScreenshotAsync("chat-phone");
    }
}
