using System.Text.Json.Nodes;
using Dapper;

namespace AgentCloud.IntegrationTests;

/// <summary>
/// A JSON member given twice, at the top or deep inside, is each door's own parse error and stores nothing
/// (it was a 500 on /a2a and /v1/chat/completions: the parsed object threw when first read).
/// </summary>
[Collection(AgentCloudCollection.Name)]
public sealed class DuplicateMemberTests(AgentCloudFixture fixture)
{
    [Fact]
    public async Task ADuplicatedMemberIsAParseErrorInA2AAndTheOpenAIDoorAndStoresNothing()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync(config: new { behavior = "echo" });
        var id = agent["id"]!.GetValue<int>();
        string[] rpcs =
        [
            """{"jsonrpc":"2.0","jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"role":"ROLE_USER","parts":[{"text":"x"}]}}}""",
            """{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"role":"ROLE_USER","role":"ROLE_USER","parts":[{"text":"x"}]}}}""",
            """[{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"role":"ROLE_USER","parts":[{"text":"x","text":"y"}]}}}]""",
            """{"jsonrpc":"2.0","id":1,"method":"SendStreamingMessage","params":{"message":{"role":"ROLE_USER","parts":[{"text":"x","text":"y"}]}}}""",
        ];
        foreach (var body in rpcs)
        {
            using var response = await user.Client.PostAsync($"/a2a/{id}", TestApi.RawJson(body));
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"HTTP {(int)response.StatusCode} for {body}: {text}");
            Assert.Equal(-32700, JsonNode.Parse(text)!["error"]!["code"]!.GetValue<int>());
        }

        var model = $"agent-{id}";
        string[] chats =
        [
            $$"""{"model":"{{model}}","model":"{{model}}","messages":[{"role":"user","content":"x"}]}""",
            $$"""{"model":"{{model}}","messages":[{"role":"user","content":"x","content":"y"}]}""",
            $$"""{"model":"{{model}}","stream":true,"messages":[{"role":"user","role":"user","content":"x"}]}""",
        ];
        foreach (var body in chats)
        {
            using var response = await user.Client.PostAsync("/v1/chat/completions", TestApi.RawJson(body));
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"HTTP {(int)response.StatusCode} for {body}: {text}");
            Assert.Equal("invalid_request_error", JsonNode.Parse(text)!["error"]!["type"]!.GetValue<string>());
        }

        await using var db = await fixture.OpenDatabaseAsync();
        Assert.Equal(0, await db.ExecuteScalarAsync<long>("SELECT count(*) FROM messages WHERE agent_id = @id", new { id }));
    }
}
