using System.Collections.Concurrent;
using System.Reflection;
using Dapper;
using Npgsql;

namespace AgentCloud.Shared.Data;

/// <summary>
/// The hottest statements of the message path, run as server-side prepared statements: PostgreSQL plans each
/// once per connection instead of on every call (planning was about 40 % of their server time; the inbox claim
/// alone plans for over a millisecond). Npgsql keeps a prepared statement on its physical connection across
/// pool returns, so after a connection's first call <see cref="NpgsqlCommand.PrepareAsync"/> costs nothing.
/// Explicitly, not with Npgsql's auto-prepare (<c>Max Auto Prepare</c>): in Npgsql 10.0.3 a statement that fails
/// in the very execution that auto-prepares it (a U+0000 in a payload, a unique violation) leaves the connection
/// out of step, and its next user gets "unexpected backend message" (npgsql/npgsql#6391, reproduced here).
/// An explicit prepare is a round trip of its own that carries no data, so no execution can fail inside it.
/// Parameters come from an object's properties as Dapper's do (typed even when null); rows map with Dapper.
/// </summary>
public static class PreparedStatements
{
    /// <summary>The rows of a prepared one-statement query.</summary>
    public static Task<List<T>> QueryPreparedAsync<T>(this NpgsqlConnection connection, string sql, object parameters,
        NpgsqlTransaction? transaction, CancellationToken cancellationToken) =>
        connection.QueryPreparedMultipleAsync(sql, [parameters], transaction, results => results.ReadAsync<T>(), cancellationToken);

    /// <summary>The one row of a prepared one-statement query, or default when it has none (more than one throws).</summary>
    public static Task<T?> QueryPreparedSingleOrDefaultAsync<T>(this NpgsqlConnection connection, string sql, object parameters,
        NpgsqlTransaction? transaction, CancellationToken cancellationToken) =>
        connection.QueryPreparedMultipleAsync(sql, [parameters], transaction, results => results.ReadSingleOrDefaultAsync<T>(),
            cancellationToken);

    /// <summary>
    /// A prepared command of one or more statements whose results <paramref name="read"/> takes in order (results it
    /// leaves unread are consumed, and their errors thrown, when it returns).
    /// </summary>
    public static async Task<TResult> QueryPreparedMultipleAsync<TResult>(this NpgsqlConnection connection, string sql,
        IEnumerable<object> parameters, NpgsqlTransaction? transaction, Func<PreparedResults, Task<TResult>> read,
        CancellationToken cancellationToken)
    {
        await using var command = await PrepareAsync(connection, sql, parameters, transaction, cancellationToken);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var result = await read(new PreparedResults(reader, cancellationToken));
        while (await reader.NextResultAsync(cancellationToken))
        {
        }

        return result;
    }

    /// <summary>A prepared statement that returns no rows; the number of rows it changed.</summary>
    public static async Task<int> ExecutePreparedAsync(this NpgsqlConnection connection, string sql, object parameters,
        NpgsqlTransaction? transaction, CancellationToken cancellationToken)
    {
        await using var command = await PrepareAsync(connection, sql, [parameters], transaction, cancellationToken);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<NpgsqlCommand> PrepareAsync(NpgsqlConnection connection, string sql, IEnumerable<object> parameters,
        NpgsqlTransaction? transaction, CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand(sql, connection, transaction);
        try
        {
            foreach (var source in parameters)
            {
                foreach (var create in ParametersOf(source.GetType()))
                {
                    command.Parameters.Add(create(source));
                }
            }

            await command.PrepareAsync(cancellationToken);
            return command;
        }
        catch
        {
            await command.DisposeAsync();
            throw;
        }
    }

    private static readonly ConcurrentDictionary<Type, Func<object, NpgsqlParameter>[]> Factories = new();

    private static Func<object, NpgsqlParameter>[] ParametersOf(Type type) =>
        Factories.GetOrAdd(type, static type => [.. type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Select(property =>
            (Func<object, NpgsqlParameter>)typeof(PreparedStatements)
                .GetMethod(nameof(Typed), BindingFlags.NonPublic | BindingFlags.Static)!
                .MakeGenericMethod(property.PropertyType).Invoke(null, [property])!)]);

    // NpgsqlParameter<T> knows its type even when the value is null, so a statement keeps the parameter types it was prepared with.
    private static Func<object, NpgsqlParameter> Typed<T>(PropertyInfo property)
    {
        var get = property.GetMethod!;
        return source => new NpgsqlParameter<T>(property.Name, (T)get.Invoke(source, null)!);
    }
}

/// <summary>The results of a <see cref="PreparedStatements.QueryPreparedMultipleAsync{TResult}"/> command, one statement's at a
/// time.</summary>
public sealed class PreparedResults(NpgsqlDataReader reader, CancellationToken cancellationToken)
{
    private bool started;

    /// <summary>The next statement's rows.</summary>
    public async Task<List<T>> ReadAsync<T>()
    {
        await NextResultAsync();
        var rows = new List<T>();
        if (reader.FieldCount == 0)
        {
            return rows;
        }

        var parse = ParserOf<T>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(parse(reader));
        }

        return rows;
    }

    // Dapper maps the columns from startIndex to objects; a plain type is the value of the column at startIndex.
    private Func<System.Data.Common.DbDataReader, T> ParserOf<T>(int startIndex = 0, int length = -1) =>
        Scalar<T>.Is ? row => row.IsDBNull(startIndex) ? default! : (T)row.GetValue(startIndex)
            : reader.GetRowParser<T>(startIndex: startIndex, length: length);

    private static class Scalar<T>
    {
        public static readonly bool Is = (Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T)) is var type
            && (type.IsPrimitive || type == typeof(string) || type == typeof(Guid) || type == typeof(decimal) || type == typeof(DateTime));
    }

    /// <summary>
    /// The next statement's rows, each as two objects: its columns before <paramref name="secondAt"/>, and those from there on,
    /// default when the first of them is null (as from a LEFT JOIN that found nothing).
    /// </summary>
    public async Task<List<(TFirst First, TSecond? Second)>> ReadSplitAsync<TFirst, TSecond>(int secondAt)
    {
        await NextResultAsync();
        var rows = new List<(TFirst, TSecond?)>();
        var (first, second) = (ParserOf<TFirst>(length: secondAt), ParserOf<TSecond>(startIndex: secondAt));
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add((first(reader), reader.IsDBNull(secondAt) ? default : second(reader)));
        }

        return rows;
    }

    /// <summary>The next statement's one row, or default when it has none (more than one is a bug of the caller's).</summary>
    public async Task<T?> ReadSingleOrDefaultAsync<T>() => await ReadAsync<T>() switch
    {
        [] => default,
        [var row] => row,
        _ => throw new InvalidOperationException("The statement returned more than one row."),
    };

    private async Task NextResultAsync()
    {
        if (started && !await reader.NextResultAsync(cancellationToken))
        {
            throw new InvalidOperationException("The command has no more results.");
        }

        started = true;
    }
}
