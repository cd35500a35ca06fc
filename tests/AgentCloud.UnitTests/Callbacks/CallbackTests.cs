using System.Net;
using System.Text.Json.Nodes;
using AgentCloud.Api.Features.A2A;
using AgentCloud.Api.Features.Callbacks;
using AgentCloud.Shared.UAgents;

namespace AgentCloud.UnitTests.Callbacks;

/// <summary>The decisions of callback delivery that need no I/O: the signature, which URLs may be registered, the push body.</summary>
public sealed class CallbackTests
{
    [Fact]
    public void TheSignatureIsTheStandardWebhooksOne()
    {
        // The example of the Standard Webhooks specification (and its reference libraries' tests).
        var signature = WebhookSignature.Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
            """{"test": 2432232314}""");

        Assert.Equal("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", signature);
    }

    [Fact]
    public void ASecretIsNewEachTimeAndDecodesToTwentyFourBytes()
    {
        var first = WebhookSignature.NewSecret();

        Assert.StartsWith("whsec_", first);
        Assert.Equal(24, Convert.FromBase64String(first["whsec_".Length..]).Length);
        Assert.NotEqual(first, WebhookSignature.NewSecret());
    }

    [Theory]
    [InlineData("http://127.0.0.1/hook")]
    [InlineData("http://[::1]:8080/hook")]
    [InlineData("http://10.0.0.1/hook")]
    [InlineData("https://169.254.169.254/latest/meta-data")]
    [InlineData("http://192.168.1.10/hook")]
    [InlineData("http://[fe80::1]/hook")]
    [InlineData("http://0.0.0.0/hook")]
    [InlineData("http://internal.example/hook")]
    public async Task NonPublicDestinationsAreRefusedUnlessAllowed(string url)
    {
        var policy = new OutboundDestinationPolicy([], InternalNames);

        Assert.NotNull(await CallbackUrls.ProblemAsync(url, policy, CancellationToken.None));
    }

    [Theory]
    [InlineData("http://127.0.0.1:5000/hook")]
    [InlineData("http://[::1]/hook")]
    public async Task LoopbackIsAllowedWhenTheOperatorAllowsIt(string url)
    {
        var policy = new OutboundDestinationPolicy(["127.0.0.0/8", "::1"], InternalNames);

        Assert.Null(await CallbackUrls.ProblemAsync(url, policy, CancellationToken.None));
        Assert.NotNull(await CallbackUrls.ProblemAsync("http://10.0.0.1/hook", policy, CancellationToken.None));
    }

    [Fact]
    public async Task APublicAddressIsAllowed()
    {
        // Only decided, never connected to.
        var policy = new OutboundDestinationPolicy([], InternalNames);

        Assert.Null(await CallbackUrls.ProblemAsync("https://93.184.215.14/hook", policy, CancellationToken.None));
        Assert.Null(await CallbackUrls.ProblemAsync("https://public.example/hook", policy, CancellationToken.None));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("/relative")]
    [InlineData("ftp://93.184.215.14/hook")]
    [InlineData("file:///etc/passwd")]
    [InlineData("https://user:pass@93.184.215.14/hook")]
    [InlineData("https://93.184.215.14/hook#part")]
    [InlineData("https://unknown.example/hook")]
    public async Task MalformedOrUnresolvableUrlsAreRefused(string? url)
    {
        var policy = new OutboundDestinationPolicy([], InternalNames);

        Assert.NotNull(await CallbackUrls.ProblemAsync(url, policy, CancellationToken.None));
    }

    [Fact]
    public void APushCarriesTheTaskInItsFinalState()
    {
        var id = Guid.NewGuid();
        var session = Guid.NewGuid();
        var body = JsonNode.Parse(PushNotifications.Body(
            $$"""{"id":"{{id}}","agent_id":7,"session":"{{session}}","status":"done","reply":"hi","error":null,"updated_at":"2026-12-07T12:00:00.000Z"}"""))!;

        var task = body["task"]!;
        Assert.Equal(id.ToString(), task["id"]!.GetValue<string>());
        Assert.Equal(session.ToString(), task["contextId"]!.GetValue<string>());
        Assert.Equal("TASK_STATE_COMPLETED", task["status"]!["state"]!.GetValue<string>());
        Assert.Equal("2026-12-07T12:00:00.000Z", task["status"]!["timestamp"]!.GetValue<string>());
        Assert.Equal("hi", task["artifacts"]![0]!["parts"]![0]!["text"]!.GetValue<string>());
        Assert.Null(task["history"]);
    }

    [Fact]
    public void ADeadTasksPushSaysWhy()
    {
        var body = JsonNode.Parse(PushNotifications.Body(
            $$"""{"id":"{{Guid.NewGuid()}}","agent_id":7,"session":"{{Guid.NewGuid()}}","status":"dead","reply":null,"error":"it broke","updated_at":"2026-12-07T12:00:00.000Z"}"""))!;

        Assert.Equal("TASK_STATE_FAILED", body["task"]!["status"]!["state"]!.GetValue<string>());
        Assert.Equal("it broke", body["task"]!["status"]!["message"]!["parts"]![0]!["text"]!.GetValue<string>());
    }

    private static Task<IPAddress[]> InternalNames(string host, CancellationToken cancellationToken) => host switch
    {
        "internal.example" => Task.FromResult(new[] { IPAddress.Parse("10.20.30.40") }),
        "public.example" => Task.FromResult(new[] { IPAddress.Parse("93.184.215.14") }),
        _ => throw new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.HostNotFound),
    };
}
