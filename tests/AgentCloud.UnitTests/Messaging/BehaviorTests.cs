using System.Text.Json;
using System.Text.Json.Nodes;
using AgentCloud.Shared.Data;
using AgentCloud.Shared.Messaging;
using AgentCloud.Shared.Messaging.Behaviors;
using AgentCloud.Shared.UAgents;

namespace AgentCloud.UnitTests.Messaging;

public sealed class BehaviorTests
{
    private static readonly string Target = AgentIdentity.FromSeed("behavior-tests-target").Address;
    private static readonly string Self = AgentIdentity.FromSeed("behavior-tests-self").Address;

    private static readonly AgentBehaviors Behaviors =
        new([new DefaultBehavior(), new EchoBehavior(), new ForwardBehavior(), new FailingBehavior()]);

    private static readonly AgentBehaviors ProductionBehaviors =
        new([new DefaultBehavior(), new EchoBehavior(), new ForwardBehavior()]);

    private static BehaviorContext Context(JsonObject config, string payload = """{"text":"hi"}""", string sender = "user:7") =>
        new(3, Self, config, new MessageRow { Id = Guid.NewGuid(), AgentId = 3, Sender = sender, Target = Self, Payload = payload });

    private static JsonObject Config(string json) => JsonNode.Parse(json)!.AsObject();

    [Theory]
    [InlineData("{}", "default")]
    [InlineData("""{"behavior":"echo"}""", "echo")]
    [InlineData("""{"behavior":"forward","target":"x"}""", "forward")]
    [InlineData("""{"behavior":"fail"}""", "fail")]
    [InlineData("""{"behavior":"nonsense"}""", "default")]
    [InlineData("""{"behavior":42}""", "default")]
    public void TheConfigsBehaviorFieldPicksTheBehaviour(string config, string expected) =>
        Assert.Equal(expected, Behaviors.For(Config(config)).Name);

    [Fact]
    public void WithoutTestBehavioursFailIsUnknown()
    {
        Assert.Equal("default", ProductionBehaviors.For(Config("""{"behavior":"fail"}""")).Name);
        Assert.Contains(ProductionBehaviors.Validate(Config("""{"behavior":"fail"}""")), problem => problem.Contains("'fail' is unknown"));
    }

    [Fact]
    public async Task TheDefaultBehaviourLogsTheMessageAndAcknowledgesIt()
    {
        var context = Context([]);

        var result = await new DefaultBehavior().HandleAsync(context, CancellationToken.None);

        Assert.Equal("acknowledged", result.Reply?["status"]?.GetValue<string>());
        Assert.Empty(result.Send);
        var line = Assert.Single(result.Logs);
        Assert.Equal(LogLevels.Info, line.Level);
        Assert.Contains(context.Message.Id.ToString(), line.Message);
        Assert.Contains("user:7", line.Message);
        Assert.Contains("hi", line.Message);
    }

    [Fact]
    public async Task TheDefaultBehaviourShortensALongPayloadInItsLog()
    {
        var payload = JsonSerializer.Serialize(new { text = new string('x', 5000) });

        var result = await new DefaultBehavior().HandleAsync(Context([], payload), CancellationToken.None);

        Assert.True(Assert.Single(result.Logs).Message.Length < 400);
    }

    [Fact]
    public async Task EchoRepliesWithThePayload()
    {
        var result = await new EchoBehavior().HandleAsync(Context(Config("""{"behavior":"echo"}"""), """{"a":[1,2,{"b":null}]}"""),
            CancellationToken.None);

        Assert.Equal("""{"a":[1,2,{"b":null}]}""", result.Reply?.ToJsonString());
        Assert.Empty(result.Send);
    }

    [Fact]
    public async Task ForwardSendsThePayloadToTheNormalisedTargetWithoutReplying()
    {
        var config = Config($$"""{"behavior":"forward","target":"agent://{{Target}}"}""");

        var result = await new ForwardBehavior().HandleAsync(Context(config), CancellationToken.None);

        Assert.Null(result.Reply);
        var sent = Assert.Single(result.Send);
        Assert.Equal(Target, sent.Target);
        Assert.Equal("""{"text":"hi"}""", sent.Payload?.ToJsonString());
        Assert.Contains(Target, Assert.Single(result.Logs).Message);
    }

    [Fact]
    public async Task FailAlwaysThrows() =>
        await Assert.ThrowsAsync<InvalidOperationException>(async () =>
            await new FailingBehavior().HandleAsync(Context(Config("""{"behavior":"fail"}""")), CancellationToken.None));

    [Theory]
    [InlineData("{}")]
    [InlineData("""{"behavior":"default"}""")]
    [InlineData("""{"behavior":"echo","extra":1}""")]
    [InlineData("""{"behavior":"fail"}""")]
    [InlineData("""{"name":"anything else","behavior":null}""")]
    public void GoodConfigsHaveNoProblems(string config) => Assert.Empty(Behaviors.Validate(Config(config)));

    [Fact]
    public void AForwardToAValidAddressInAnyUAgentsFormIsFine()
    {
        Assert.Empty(Behaviors.Validate(Config($$"""{"behavior":"forward","target":"{{Target}}"}""")));
        Assert.Empty(Behaviors.Validate(Config($$"""{"behavior":"forward","target":"agent://{{Target}}"}""")));
        Assert.Empty(Behaviors.Validate(Config($$"""{"behavior":"forward","target":"test-agent://{{Target}}"}""")));
    }

    [Theory]
    [InlineData("""{"behavior":"forward"}""")]
    [InlineData("""{"behavior":"forward","target":42}""")]
    [InlineData("""{"behavior":"forward","target":"agent1notanaddress"}""")]
    [InlineData("""{"behavior":"forward","target":"user:1"}""")]
    public void AForwardWithoutAGoodTargetNamesTheField(string config) =>
        Assert.Contains("config.target", Assert.Single(Behaviors.Validate(Config(config))));

    [Fact]
    public void AnUnknownBehaviourListsTheKnownOnes()
    {
        var problem = Assert.Single(Behaviors.Validate(Config("""{"behavior":"teleport"}""")));

        Assert.Contains("'teleport' is unknown", problem);
        Assert.Contains("default, echo, fail, forward", problem);
    }

    [Fact]
    public void ANonStringBehaviourIsRefused() =>
        Assert.Contains("must be a string", Assert.Single(Behaviors.Validate(Config("""{"behavior":["echo"]}"""))));

    [Theory]
    [InlineData("[]")]
    [InlineData("\"echo\"")]
    [InlineData("null")]
    public void AConfigThatIsNotAnObjectIsRefused(string json) =>
        Assert.Equal(["config must be a JSON object."], Behaviors.Validate(JsonDocument.Parse(json).RootElement));

    [Fact]
    public void AJsonElementConfigIsCheckedLikeAJsonObject() =>
        Assert.Contains("config.target", Assert.Single(Behaviors.Validate(JsonDocument.Parse("""{"behavior":"forward"}""").RootElement)));
}
