using System.Text.RegularExpressions;

namespace AgentCloud.IntegrationTests;

/// <summary>
/// Every shell block of the README and of docs/ (besides the tour, which <see cref="ReadmeTourTests"/> runs), run as written
/// against the AppHost with what the pages say it needs: <c>API</c> and a fresh user's <c>TOKEN</c> (as the tour leaves them),
/// the scripted model behind <c>"behavior": "llm"</c>, and <c>ALICE</c>, a uAgent on loopback in the static endpoint map. A
/// block fenced <c>```bash setup</c> configures or starts the system (user secrets, <c>dotnet run</c>) and is not run here.
/// </summary>
[Collection(AgentCloudCollection.Name)]
public sealed partial class DocsShellBlockTests(AgentCloudFixture fixture)
{
    private static readonly TimeSpan BlockTimeout = TimeSpan.FromMinutes(2);

    // What a block's output must hold beyond its exit code, by page, and on a page with blocks of several doors, by what the
    // block calls (When: a text of the block).
    private static readonly (string Page, string? When, string[] Output)[] Expected =
    [
        // "Every door": each new door answered (the response completed, MCP's call, the A2A task, the AG-UI run).
        ("README.md", "/v1/responses", ["\"status\": \"completed\"", "\"answer\": \"hello over MCP\"",
            "TASK_STATE_COMPLETED", "\"answer\": \"hello over A2A\"", "{\"type\":\"TEXT_MESSAGE_CONTENT\",\"delta\":\"hello over AG-UI\"}",
            "{\"type\":\"RUN_FINISHED\",\"outcome\":\"success\"}"]),
        ("docs/doors.md", "/ag-ui", ["\"toolCallName\":\"remember\"", "\"outcome\":\"interrupt\"",
            "\"content\":\"Remembered 'favourite_colour'.\"", "{\"type\":\"success\"}"]),
        ("docs/llm-agents.md", null, ["You told me your favourite colour is teal.", "\"status\": \"done\"", "\"value\": \"teal\""]),
        ("docs/doors.md", "/messages", ["event: accepted", "event: done"]),
        ("docs/doors.md", "/v1/responses", ["\"status\": \"completed\"", "event: response.completed"]),
        ("docs/doors.md", "message:send", ["TASK_STATE_COMPLETED", "\"artifactUpdate\"", "TASK_NOT_CANCELABLE"]),
        ("docs/uagents.md", null, ["\"delivery\": \"remote\"", "\"status\": \"done\""]),
        ("docs/approvals.md", null, ["\"status\": \"approved\"", "\"reply\": \"Noted: teal.\""]),
        // Each block ends by deleting what it made (the schedules block also fails unless its one-time schedule fired).
        ("docs/schedules-and-limits.md", null, ["204"]),
    ];

    public static TheoryData<string, int> Blocks()
    {
        var data = new TheoryData<string, int>();
        foreach (var page in Pages())
        {
            for (var i = 0; i < RunnableBlocks(page).Count; i++)
            {
                data.Add(page, i);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Blocks))]
    public async Task TheBlockRunsAsWritten(string page, int index)
    {
        var block = RunnableBlocks(page)[index];
        var user = await fixture.CreateUserAsync();
        var environment = new Dictionary<string, string?>
        {
            ["API"] = fixture.App.GetEndpoint("api", "http").ToString().TrimEnd('/'),
            ["TOKEN"] = user.Token,
        };

        if (block.Contains("\"behavior\": \"llm\"", StringComparison.Ordinal))
        {
            // The scripted model finds its script by the marker in the agent's instructions: the one change to the text.
            var model = fixture.Models.NewScript(
                new ToolCallsReply(("call_1", "remember", """{"key":"favourite_colour","value":"teal"}""")),
                new TextReply("Noted: teal."),
                new TextReply("You told me your favourite colour is teal."));
            var marked = block.Replace("\"instructions\": \"", $"\"instructions\": \"{model.Marker} ", StringComparison.Ordinal);
            Assert.NotEqual(block, marked);
            block = marked;
        }

        await using var peer = await UagentPeer.StartAsync(PeerMode.Accept);
        if (block.Contains("$ALICE", StringComparison.Ordinal) || block.Contains("${ALICE", StringComparison.Ordinal))
        {
            environment["ALICE"] = peer.Address;
            await fixture.AddEndpointAsync(peer.Address, peer.Url);
        }

        var script = Path.Combine(Path.GetTempPath(), $"agentcloud-docs-{Guid.NewGuid():N}.sh");
        await File.WriteAllTextAsync(script, block);
        try
        {
            var (exitCode, output) = await RepositoryFiles.RunAsync("bash", ["-euo", "pipefail", script], BlockTimeout, environment);

            Assert.True(exitCode == 0, $"Block {index} of {page} stopped with exit code {exitCode}:\n{block}\n---\n{output}");
            foreach (var expected in Expected.Where(e => e.Page == page
                && (e.When is null || block.Contains(e.When, StringComparison.Ordinal)))
                .SelectMany(e => e.Output))
            {
                Assert.True(output.Contains(expected, StringComparison.Ordinal),
                    $"Block {index} of {page} ran, but its output lacks {expected}:\n{output}");
            }
        }
        finally
        {
            File.Delete(script);
        }
    }

    [Fact]
    public void EveryShellBlockIsRunOrOnlySetsUp()
    {
        var pages = Pages();
        Assert.Contains("docs/llm-agents.md", pages);
        Assert.NotEmpty(RunnableBlocks("docs/llm-agents.md"));

        foreach (var page in pages)
        {
            var text = File.ReadAllText(RepositoryFiles.PathOf(page));
            foreach (Match block in AnyShellBlock().Matches(text))
            {
                // A shell block is run (here or as the tour), or says it only sets up: then it talks to no running API.
                Assert.True(block.Groups["lang"].Value == "bash",
                    $"{page} has a shell block fenced as {block.Groups["lang"].Value}: fence it bash.");
                if (block.Groups["setup"].Success)
                {
                    Assert.DoesNotContain("$API", block.Groups["body"].Value);
                    Assert.DoesNotContain("curl", block.Groups["body"].Value);
                }
            }

            foreach (var block in RunnableBlocks(page))
            {
                Assert.DoesNotMatch(@"/agents/\d", block);      // ids come out of earlier answers
                Assert.DoesNotContain("{message_id}", block);
                Assert.DoesNotContain("agent1q…", block);
            }
        }
    }

    private static List<string> Pages() =>
    [
        "README.md",
        .. Directory.GetFiles(RepositoryFiles.PathOf("docs"), "*.md").Select(path => $"docs/{Path.GetFileName(path)}")
            .Order(StringComparer.Ordinal),
    ];

    /// <summary>The page's <c>```bash</c> blocks, but for the README's tour and the <c>```bash setup</c> ones.</summary>
    private static List<string> RunnableBlocks(string page)
    {
        var text = File.ReadAllText(RepositoryFiles.PathOf(page));
        var tour = page == "README.md" ? ReadmeTourTests.TourBlock() : null;
        return
        [
            .. AnyShellBlock().Matches(text)
                .Where(block => block.Groups["lang"].Value == "bash" && !block.Groups["setup"].Success)
                .Select(block => block.Groups["body"].Value)
                .Where(body => body != tour),
        ];
    }

    [GeneratedRegex(@"^```(?<lang>bash|sh|shell|console|zsh)(?<setup> setup)?\n(?<body>.*?)^```",
        RegexOptions.Singleline | RegexOptions.Multiline)]
    private static partial Regex AnyShellBlock();
}
