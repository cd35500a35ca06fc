using AgentCloud.Shared.UAgents;

namespace AgentCloud.UnitTests.UAgents;

public class DigestTests
{
    public static TheoryData<string, string, string> ModelVectors()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var vector in Vectors.ModelDigestCases)
        {
            data.Add(vector.GetProperty("model").GetString()!, vector.GetProperty("schema_json").GetString()!,
                vector.GetProperty("digest").GetString()!);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ModelVectors))]
    public void ComputesTheDigestOfEveryModelVector(string name, string schemaJson, string digest) =>
        Assert.Equal(digest, new MessageModel(name, schemaJson).Digest);

    [Theory]
    [MemberData(nameof(ModelVectors))]
    public void KnownModelsMatchTheReferenceSchemaText(string name, string schemaJson, string digest)
    {
        var known = MessageModels.All.SingleOrDefault(model => model.Name == name);
        if (known is null)
        {
            return;
        }

        Assert.Equal(schemaJson, known.SchemaJson);
        Assert.Equal(digest, known.Digest);
    }

    [Fact]
    public void ComputesTheDigestOfASingleMessageProtocol() =>
        Assert.Equal(ProtocolVector("single Message->Message protocol"),
            ProtocolDigest.Compute([(MessageModels.Message, [MessageModels.Message])]));

    [Fact]
    public void ComputesTheDigestOfTheAgentChatProtocol() =>
        Assert.Equal(ProtocolVector("AgentChatProtocol 0.3.0 (ChatMessage, ChatAcknowledgement)"), ProtocolDigest.AgentChat);

    private static string ProtocolVector(string name) =>
        Vectors.ProtocolDigestCases.Single(vector => vector.GetProperty("name").GetString() == name).GetProperty("digest").GetString()!;
}
