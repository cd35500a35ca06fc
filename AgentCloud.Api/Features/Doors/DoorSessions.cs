using System.Security.Cryptography;
using System.Text;

namespace AgentCloud.Api.Features.Doors;

/// <summary>The one rule for a door whose clients name a conversation with any string (chat's <c>user</c>, AG-UI's threadId).</summary>
public static class DoorSessions
{
    /// <summary>
    /// A UUID is the session itself (so A2A's contextId and the REST session name the same conversation); any other string becomes
    /// a name-based UUID of its own, per door and caller (the same string, the same conversation; another user's is another).
    /// </summary>
    public static Guid Named(string door, int userId, string name)
    {
        if (Guid.TryParse(name, out var session))
        {
            return session;
        }

        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{door}\n{userId}\n{name}"));
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50); // a name-based UUID (version 5 layout)
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash.AsSpan(0, 16), bigEndian: true);
    }
}
