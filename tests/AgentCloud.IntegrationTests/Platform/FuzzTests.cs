using System.Text;
using System.Text.Json.Nodes;
using CsCheck;
using Dapper;

namespace AgentCloud.IntegrationTests;

/// <summary>
/// Generated request bodies for the main endpoints (CsCheck): whatever arrives, the answer is never a
/// 5xx, and a rejected request stores nothing.
/// </summary>
[Collection(AgentCloudCollection.Name)]
public sealed class FuzzTests(AgentCloudFixture fixture)
{
    private const int Iterations = 120;

    private static readonly string[] FieldNames =
        ["username", "email", "password", "name", "config", "payload", "text", "session", "target", "behavior", "id", "user_id", "",
            "__proto__"];

    private static readonly Gen<string> Strings = Gen.OneOf(
        Gen.String,
        Gen.String.AlphaNumeric,
        Gen.Const("a@b.co"),
        Gen.Const("' OR 1=1 --"),
        Gen.Const("<script>alert(1)</script>"),
        Gen.Const("\u0000\u0001\u001f"),
        Gen.Const("agent1qf5gfqm48k9acegez3sg82ney2aa6l5fvpwh3n3z0ajh0nam3ssgwnn5me7"),
        Gen.Char.Array[0, 300].Select(chars => new string(chars)),
        Gen.Int[0, 70_000].Select(n => new string('x', n)));

    private static readonly Gen<JsonNode?> Scalars = Gen.OneOf<JsonNode?>(
        Gen.Const((JsonNode?)null),
        Gen.Bool.Select(b => (JsonNode?)JsonValue.Create(b)),
        Gen.Long.Select(n => (JsonNode?)JsonValue.Create(n)),
        Gen.Double.Where(double.IsFinite).Select(d => (JsonNode?)JsonValue.Create(d)),
        Strings.Select(s => (JsonNode?)JsonValue.Create(s)));

    private static readonly Gen<JsonNode?> Values = Gen.Recursive<JsonNode?>((depth, values) => depth >= 4
        ? Scalars
        : Gen.Frequency(
            (6, Scalars),
            (1, values.Array[0, 4].Select(items => (JsonNode?)new JsonArray(items.Select(i => i?.DeepClone()).ToArray()))),
            (2, Objects(values))));

    private static Gen<JsonNode?> Objects(Gen<JsonNode?> values) =>
        Gen.Select(Gen.Int[0, FieldNames.Length - 1], values).Array[0, 5].Select(fields =>
        {
            var node = new JsonObject();
            foreach (var (index, value) in fields)
            {
                node[FieldNames[index]] = value?.DeepClone();
            }

            return (JsonNode?)node;
        });

    /// <summary>Mostly JSON objects with the endpoint's field names, sometimes raw bytes that are not JSON at all.</summary>
    private static readonly Gen<byte[]> Bodies = Gen.Frequency(
        (8, Objects(Values).Select(node => Encoding.UTF8.GetBytes(node?.ToJsonString() ?? "null"))),
        (1, Values.Select(node => Encoding.UTF8.GetBytes(node?.ToJsonString() ?? "null"))),
        (1, Gen.Byte.Array[0, 200]));

    [Fact]
    public Task SignupNeverFailsOnTheServerAndStoresNothingItRejects() =>
        Bodies.SampleAsync(async body =>
        {
            using var client = fixture.CreateApiClient();
            var usersBefore = await CountAsync("SELECT count(*) FROM users");

            using var response = await PostAsync(client, "/signup", body);

            AssertNoServerError(response, body);
            if (response.StatusCode != HttpStatusCode.Created)
            {
                Assert.Equal(usersBefore, await CountAsync("SELECT count(*) FROM users"));
            }
        }, iter: Iterations, threads: 1);

    [Fact]
    public Task LoginNeverFailsOnTheServer() =>
        Bodies.SampleAsync(async body =>
        {
            using var client = fixture.CreateApiClient();
            using var response = await PostAsync(client, "/login", body);
            AssertNoServerError(response, body);
            Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
        }, iter: Iterations, threads: 1);

    [Fact]
    public async Task CreatingAgentsNeverFailsOnTheServerAndStoresNothingItRejects()
    {
        var user = await fixture.CreateUserAsync();
        await Bodies.SampleAsync(async body =>
        {
            var before = await CountAsync("SELECT count(*) FROM agents WHERE user_id = @id", user.Id);

            using var response = await PostAsync(user.Client, "/agents", body);

            AssertNoServerError(response, body);
            if (response.StatusCode != HttpStatusCode.Created)
            {
                Assert.Equal(before, await CountAsync("SELECT count(*) FROM agents WHERE user_id = @id", user.Id));
            }
        }, iter: Iterations, threads: 1);
    }

    [Fact]
    public async Task PostingMessagesNeverFailsOnTheServerAndStoresNothingItRejects()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("fuzzed");
        var id = agent["id"]!.GetValue<int>();
        await Bodies.SampleAsync(async body =>
        {
            var before = await CountAsync("SELECT count(*) FROM messages WHERE agent_id = @id", id);

            using var response = await PostAsync(user.Client, $"/agents/{id}/messages", body);

            AssertNoServerError(response, body);
            if ((int)response.StatusCode >= 300)
            {
                Assert.Equal(before, await CountAsync("SELECT count(*) FROM messages WHERE agent_id = @id", id));
            }
        }, iter: Iterations, threads: 1);
    }

    private static async Task<HttpResponseMessage> PostAsync(HttpClient client, string path, byte[] body)
    {
        try
        {
            return await client.PostAsync(path, new ByteArrayContent(body) { Headers = { { "Content-Type", "application/json" } } });
        }
        catch (HttpRequestException exception) when (body.Length > DrainedBytes && exception.InnerException is IOException)
        {
            // A body over 1 MiB is refused with a 413 before it is read, and the connection is closed
            // under a client still sending: the client may see that instead of the 413. (Up to 1 MiB the
            // API reads the body to the end first, so the 413 always arrives.)
            return new HttpResponseMessage(HttpStatusCode.RequestEntityTooLarge);
        }
    }

    private const int DrainedBytes = 1024 * 1024;

    private static void AssertNoServerError(HttpResponseMessage response, byte[] body) =>
        Assert.True((int)response.StatusCode < 500,
            $"{(int)response.StatusCode} for a body of {body.Length} bytes: " +
            $"{Encoding.UTF8.GetString(body.AsSpan(0, Math.Min(body.Length, 300)))}");

    private async Task<long> CountAsync(string sql, int id = 0)
    {
        await using var db = await fixture.OpenDatabaseAsync();
        return await db.ExecuteScalarAsync<long>(sql, new { id });
    }
}
