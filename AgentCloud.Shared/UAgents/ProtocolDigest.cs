using System.Security.Cryptography;
using System.Text;

namespace AgentCloud.Shared.UAgents;

/// <summary>
/// <c>proto:</c> + SHA-256 of the protocol manifest as the reference writes it (Python
/// <c>json.dumps(manifest, sort_keys=True)</c>). The protocol's name and version do not enter it.
/// </summary>
public static class ProtocolDigest
{
    /// <summary>The Agent Chat Protocol (0.3.0): ChatMessage answered by ChatAcknowledgement.</summary>
    public static readonly string AgentChat = Compute(
    [
        (MessageModels.ChatMessage, [MessageModels.ChatAcknowledgement]),
        (MessageModels.ChatAcknowledgement, []),
    ]);

    /// <summary>The digest of a protocol given each request model and the models that may answer it.</summary>
    public static string Compute(IEnumerable<(MessageModel Request, IReadOnlyList<MessageModel> Responses)> interactions)
    {
        var list = interactions.ToList();
        var models = list.SelectMany(interaction => interaction.Responses.Prepend(interaction.Request))
            .DistinctBy(model => model.Digest)
            .OrderBy(model => model.Digest, StringComparer.Ordinal);
        var requests = list.OrderBy(interaction => interaction.Request.Digest, StringComparer.Ordinal);

        // Written by hand in json.dumps' layout (", " and ": ", keys sorted); each schema text is
        // already in that layout, which is why it is embedded verbatim.
        var manifest = new StringBuilder();
        manifest.Append("{\"interactions\": [");
        manifest.AppendJoin(", ", requests.Select(interaction =>
            $"{{\"request\": \"{interaction.Request.Digest}\", \"responses\": ["
            + string.Join(", ", interaction.Responses.Select(model => $"\"{model.Digest}\"").Order(StringComparer.Ordinal))
            + "], \"type\": \"normal\"}"));
        manifest.Append("], \"metadata\": {}, \"models\": [");
        manifest.AppendJoin(", ", models.Select(model => $"{{\"digest\": \"{model.Digest}\", \"schema\": {model.SchemaJson}}}"));
        manifest.Append("], \"version\": \"1.0\"}");

        return "proto:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(manifest.ToString())));
    }
}
