using System.Text.Json;
using AgentCloud.Api.Features.AgUi.Run;

namespace AgentCloud.UnitTests.Api;

public sealed class AgUiInputTests
{
    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement.Clone();

    [Fact]
    public void TheLastUserMessagesTextIsSentAsAJsonString()
    {
        Assert.Equal("\"again\"", AgUiInput.Text(Json("""
            [{"id":"1","role":"user","content":"hello"},{"id":"2","role":"assistant","content":"hi"},
             {"id":"3","role":"user","content":"again"}]
            """)).Payload);
        Assert.Equal("\"a\\nb\"", AgUiInput.Text(Json("""
            [{"id":"1","role":"user","content":[{"type":"text","text":"a"},{"type":"image","url":"x"},{"type":"text","text":"b"}]}]
            """)).Payload);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("""[{"id":"1","role":"user","content":"hi"},{"id":"2","role":"assistant","content":"hello"}]""")]
    [InlineData("""[{"id":"1","role":"tool","content":"42","toolCallId":"c"}]""")]
    [InlineData("""[{"id":"1","role":"user","content":""}]""")]
    [InlineData("""[{"id":"1","role":"user","content":"a\u0000b"}]""")]
    [InlineData("""[{"id":"1","role":"user"}]""")]
    public void ARunWithoutUserTextLastHasAProblem(string messages) => Assert.NotNull(AgUiInput.Text(Json(messages)).Problem);

    [Fact]
    public void AResolvedEntryIsTheRestDecisionAndACancelledOneADenial()
    {
        var id = Guid.NewGuid();
        var (approved, _) = AgUiInput.Answers(Json($$$"""
            [{"interruptId":"{{{id}}}","status":"resolved","payload":{"decision":"approve","arguments":{"x":1},"reason":"ok"}}]
            """));
        var approve = Assert.Single(approved!);
        Assert.Equal(id, approve.ApprovalId);
        Assert.True(approve.Approve);
        Assert.Equal("""{"x":1}""", approve.Arguments!.ToJsonString());
        Assert.Equal("ok", approve.Reason);

        var other = Guid.NewGuid();
        var (both, _) = AgUiInput.Answers(Json($$$"""
            [{"interruptId":"{{{id}}}","status":"cancelled"},
             {"interruptId":"{{{other}}}","status":"resolved","payload":{"decision":"deny"}}]
            """));
        Assert.NotNull(both);
        Assert.Equal([id, other], both.Select(a => a.ApprovalId));
        Assert.All(both, a => Assert.False(a.Approve));
        Assert.All(both, a => Assert.Null(a.Reason));
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("""[{"interruptId":"ID","status":"cancelled"},{"interruptId":"x","status":"cancelled"}]""")]
    [InlineData("""[{"interruptId":"ID","status":"cancelled"},{"interruptId":"ID","status":"cancelled"}]""")]
    [InlineData("""[{"interruptId":"not-ours","status":"cancelled"}]""")]
    [InlineData("""[{"interruptId":"ID","status":"maybe"}]""")]
    [InlineData("""[{"interruptId":"ID","status":"resolved"}]""")]
    [InlineData("""[{"interruptId":"ID","status":"resolved","payload":{"decision":true}}]""")]
    [InlineData("""[{"interruptId":"ID","status":"resolved","payload":{"decision":"deny","arguments":{}}}]""")]
    [InlineData("""[{"interruptId":"ID","status":"resolved","payload":{"decision":"deny","reason":7}}]""")]
    public void AnAnswerThisDoorCannotDecideHasAProblem(string resume) =>
        Assert.NotNull(AgUiInput.Answers(Json(resume.Replace("ID", Guid.NewGuid().ToString(), StringComparison.Ordinal))).Problem);

    [Fact]
    public void AThreadIdThatIsAUuidIsTheSessionAndAnyOtherNamesOneOfTheCallersOwn()
    {
        var session = Guid.NewGuid();
        Assert.Equal(session, AgUiInput.Session(1, session.ToString()));
        Assert.Equal(AgUiInput.Session(1, "my thread"), AgUiInput.Session(1, "my thread"));
        Assert.NotEqual(AgUiInput.Session(1, "my thread"), AgUiInput.Session(2, "my thread"));
        Assert.NotEqual(AgUiInput.Session(1, "my thread"), AgUiInput.Session(1, "another"));
    }
}
