using System.Collections.Concurrent;
using System.Threading.Channels;

namespace Forge.Orchestrator.Domain;

/// <summary>One bus event as the dashboard receives it: the message's type name and the message itself.</summary>
public sealed record DashboardEvent(string Type, object Data);

/// <summary>
/// Fans the bus events the dashboard watches out to every connected client of this process. Each client has its own
/// bounded queue: a slow client loses its oldest events rather than holding memory or slowing the others (the dashboard
/// reloads a page's data when it reconnects, so a gap costs a refresh, never a wrong figure).
/// </summary>
public sealed class DashboardEvents
{
    public const int QueueLength = 1024;

    private readonly ConcurrentDictionary<Channel<DashboardEvent>, byte> _clients = new();

    public int Clients => _clients.Count;

    public void Publish(DashboardEvent item)
    {
        foreach (var client in _clients.Keys)
            client.Writer.TryWrite(item);
    }

    /// <summary>The events published from now on, until the subscription is disposed.</summary>
    public Subscription Subscribe()
    {
        var client = Channel.CreateBounded<DashboardEvent>(new BoundedChannelOptions(QueueLength)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        });
        _clients.TryAdd(client, 0);
        return new Subscription(this, client);
    }

    public sealed class Subscription(DashboardEvents owner, Channel<DashboardEvent> client) : IDisposable
    {
        public ChannelReader<DashboardEvent> Reader => client.Reader;

        public void Dispose() => owner._clients.TryRemove(client, out _);
    }
}
