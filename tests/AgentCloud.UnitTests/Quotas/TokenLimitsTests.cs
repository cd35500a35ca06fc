using System.Text.Json.Nodes;
using AgentCloud.Shared.Quotas;

namespace AgentCloud.UnitTests.Quotas;

public sealed class TokenLimitsTests
{
    private static readonly QuotaOptions Options = new() { InputTokensPerDay = 1000, OutputTokensPerDay = 500,
        OutsiderTokenSharePercent = 10 };

    [Fact]
    public void TheOwnersDayComesFirstThenTheAgentsThenTheOutsidersShare()
    {
        var agent = new AgentTokenLimits(200, null);

        Assert.Null(TokenLimits.Refusal(Options, agent, new TokensToday(999, 0, 199, 0, 0, 0), outsider: false));
        Assert.Contains("input_tokens_per_day", TokenLimits.Refusal(Options, agent, new TokensToday(1000, 0, 0, 0, 0, 0), false));
        Assert.Contains("token_limits.input_per_day", TokenLimits.Refusal(Options, agent, new TokensToday(300, 0, 200, 0, 0, 0), false));
        // The outsiders' share is 10 % of the agent's own limit (20 input), else of the owner's (50 output).
        Assert.Null(TokenLimits.Refusal(Options, agent, new TokensToday(30, 0, 30, 0, 30, 0), outsider: false));
        Assert.Contains("outsider_input_tokens_per_day", TokenLimits.Refusal(Options, agent, new TokensToday(30, 0, 30, 0, 20, 0), true));
        Assert.Contains("outsider_output_tokens_per_day", TokenLimits.Refusal(Options, agent, new TokensToday(0, 50, 0, 50, 0, 50), true));
        Assert.Null(TokenLimits.Refusal(Options, agent, new TokensToday(0, 49, 0, 49, 19, 49), true));
    }

    [Theory]
    [InlineData("""{"token_limits": {"input_per_day": 0}}""")]
    [InlineData("""{"token_limits": {"input_per_day": 1.5}}""")]
    [InlineData("""{"token_limits": {"tokens": 10}}""")]
    [InlineData("""{"token_limits": 10}""")]
    public void ABadTokenLimitsIsNamed(string config) =>
        Assert.Contains("config.token_limits", Assert.Single(TokenLimits.Problems(JsonNode.Parse(config)!.AsObject())));

    [Fact]
    public void AGoodTokenLimitsReads()
    {
        var config = JsonNode.Parse("""{"token_limits": {"output_per_day": 5000}}""")!.AsObject();

        Assert.Empty(TokenLimits.Problems(config));
        Assert.Equal(new AgentTokenLimits(null, 5000), TokenLimits.Read(config));
    }
}
