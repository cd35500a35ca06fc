using AgentCloud.Api.Infrastructure;

namespace AgentCloud.UnitTests.Api;

public sealed class PagingTests
{
    [Fact]
    public void APageReadWithOneRowMoreEndsWithTheCursorOfItsLastItem()
    {
        var (items, next) = Paging.Page([5, 4, 3, 2], limit: 3, row => $"after {row}");

        Assert.Equal([5, 4, 3], items);
        Assert.Equal("after 3", next);
    }

    [Fact]
    public void TheLastPageHasNoCursor()
    {
        var (items, next) = Paging.Page([2, 1], limit: 3, row => $"after {row}");

        Assert.Equal([2, 1], items);
        Assert.Null(next);
    }
}
