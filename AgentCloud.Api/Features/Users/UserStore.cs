using AgentCloud.Shared.Data;
using AgentCloud.Shared.Hosting;
using Dapper;
using Npgsql;

namespace AgentCloud.Api.Features.Users;

public sealed class UserRow
{
    public int Id { get; init; }
    public string Username { get; init; } = "";
    public string Email { get; init; } = "";
    public DateTime? CreatedAt { get; init; }
    public DateTime? UpdatedAt { get; init; }
}

public sealed class Credentials
{
    public int Id { get; init; }
    public string PasswordHash { get; init; } = "";
    public int TokenVersion { get; init; }
}

/// <summary>What decides whether a token of the user still stands.</summary>
public sealed class TokenState
{
    public int TokenVersion { get; init; }
    public bool Revoked { get; init; }
}

public sealed class UserStore(NpgsqlDataSource dataSource) : IAsyncDisposable
{
    private const string UserColumns = "id, username, email, created_at, updated_at";

    // Every authenticated request asks for its token's state: concurrent requests ask together (see Batcher), each still
    // after it arrived, so a token revoked before a request is refused by it.
    private readonly Batcher<(int Id, Guid? Jti), TokenState?> tokenStates = new("check tokens", maxBatch: 64, loops: 3,
        async tokens =>
        {
            await using var connection = await dataSource.OpenQueuedConnectionAsync(CancellationToken.None);
            var states = await connection.QueryPreparedAsync<NumberedTokenState>(
                """
                SELECT t.n, u.token_version,
                       (t.jti IS NOT NULL AND EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = t.jti)) AS revoked
                FROM unnest(@ids::int[], @jtis::uuid[]) WITH ORDINALITY AS t(id, jti, n)
                JOIN users u ON u.id = t.id
                """,
                new { ids = tokens.Select(token => token.Id).ToArray(), jtis = tokens.Select(token => token.Jti).ToArray() }, null,
                CancellationToken.None);
            var found = states.ToDictionary(state => state.N, state =>
                new TokenState { TokenVersion = state.TokenVersion, Revoked = state.Revoked });
            return [.. Enumerable.Range(1, tokens.Count).Select(n => found.GetValueOrDefault(n))];
        });

    public ValueTask DisposeAsync() => tokenStates.DisposeAsync();

    /// <summary>
    /// The new user, or null when the username (after NFKC, in any case) or the email (in any case) is taken.
    /// </summary>
    public async Task<UserRow?> CreateAsync(string username, string email, string passwordHash, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            // The unique indexes decide: of two concurrent signups for one name, exactly one commits.
            return await connection.QuerySingleAsync<UserRow>(new CommandDefinition(
                $"INSERT INTO users (username, email, password_hash) VALUES (@username, @email, @passwordHash) RETURNING {UserColumns}",
                new { username, email, passwordHash }, cancellationToken: cancellationToken));
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return null;
        }
    }

    public async Task<UserRow?> FindAsync(int id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<UserRow>(new CommandDefinition(
            $"SELECT {UserColumns} FROM users WHERE id = @id", new { id }, cancellationToken: cancellationToken));
    }

    /// <summary>Null when the user no longer exists; else their token version and whether token <paramref name="jti"/> was
    /// revoked.</summary>
    public Task<TokenState?> FindTokenStateAsync(int id, Guid? jti) => tokenStates.RunAsync((id, jti));

    private sealed class NumberedTokenState
    {
        public long N { get; init; }
        public int TokenVersion { get; init; }
        public bool Revoked { get; init; }
    }

    public async Task<Credentials?> FindCredentialsAsync(string username, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<Credentials>(new CommandDefinition(
            "SELECT id, password_hash, token_version FROM users WHERE username = @username", new { username },
            cancellationToken: cancellationToken));
    }

    public async Task<Credentials?> FindCredentialsAsync(int id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<Credentials>(new CommandDefinition(
            "SELECT id, password_hash, token_version FROM users WHERE id = @id", new { id }, cancellationToken: cancellationToken));
    }

    /// <summary>Replaces the hash only if it is still the one that was checked (a concurrent change wins).</summary>
    public async Task ReplacePasswordHashAsync(int id, string oldHash, string newHash, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE users SET password_hash = @newHash WHERE id = @id AND password_hash = @oldHash",
            new { id, oldHash, newHash }, cancellationToken: cancellationToken));
    }

    /// <summary>
    /// A new password, and a new token version so every token issued before is refused. Null when the hash
    /// changed since it was checked; else the new version.
    /// </summary>
    public async Task<int?> ChangePasswordAsync(int id, string checkedHash, string newHash, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<int?>(new CommandDefinition(
            """
            UPDATE users SET password_hash = @newHash, token_version = token_version + 1
            WHERE id = @id AND password_hash = @checkedHash
            RETURNING token_version
            """,
            new { id, checkedHash, newHash }, cancellationToken: cancellationToken));
    }

    /// <summary>Ends one token: listed until it would have expired anyway (older entries are swept on the way).</summary>
    public async Task RevokeTokenAsync(int id, Guid jti, DateTime expiresAtUtc, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            """
            DELETE FROM revoked_tokens WHERE expires_at < (now() AT TIME ZONE 'utc') - interval '5 minutes';
            INSERT INTO revoked_tokens (jti, user_id, expires_at) VALUES (@jti, @id, @expires) ON CONFLICT (jti) DO NOTHING;
            """,
            new { id, jti, expires = DateTime.SpecifyKind(expiresAtUtc, DateTimeKind.Unspecified) }, cancellationToken: cancellationToken));
    }

    /// <summary>Ends every token of the user at once.</summary>
    public async Task RevokeAllTokensAsync(int id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE users SET token_version = token_version + 1 WHERE id = @id", new { id }, cancellationToken: cancellationToken));
    }
}
