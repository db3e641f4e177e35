using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Forge.ServiceDefaults;

public static class BusRegistration
{
    /// <summary>A bus for a service that only publishes (or has no consumers yet).</summary>
    public static IHostApplicationBuilder AddForgeBus(this IHostApplicationBuilder builder) => builder.AddForgeBus(static _ => { });

    /// <summary>
    /// Registers MassTransit with the transport chosen by Forge:Bus. Each service passes in its own consumers,
    /// so one process can host one service or (embedded) all of them on the same bus.
    /// </summary>
    public static IHostApplicationBuilder AddForgeBus(this IHostApplicationBuilder builder, Action<IBusRegistrationConfigurator> addConsumers)
    {
        var options = builder.GetForgeOptions();
        builder.Services.AddMassTransit(bus =>
        {
            bus.SetEndpointNameFormatter(new KebabCaseEndpointNameFormatter(options.BusPrefix, includeNamespace: false));
            addConsumers(bus);
            if (options.RabbitMq.QueueExpiry is { } expiry)
            {
                bus.AddConfigureEndpointsCallback((_, _, endpoint) =>
                {
                    if (endpoint is IRabbitMqReceiveEndpointConfigurator rabbitEndpoint)
                        rabbitEndpoint.QueueExpiration = expiry;
                });
            }
            switch (options.Bus.ToLowerInvariant())
            {
                case "inmemory" or "in-memory":
                    bus.UsingInMemory((context, cfg) =>
                    {
                        cfg.ConfigureEndpoints(context);
                    });
                    break;
                case "rabbitmq":
                    bus.UsingRabbitMq((context, cfg) =>
                    {
                        var rabbit = options.RabbitMq;
                        cfg.Host(rabbit.Host, rabbit.Port, rabbit.VirtualHost, h =>
                        {
                            h.Username(rabbit.Username);
                            h.Password(rabbit.Password);
                        });
                        if (options.BusPrefix.Length > 0)
                            cfg.MessageTopology.SetEntityNameFormatter(new PrefixEntityNameFormatter(cfg.MessageTopology.EntityNameFormatter, options.BusPrefix + "."));
                        if (rabbit.QueueExpiry is { } expiry)
                        {
                            cfg.SendTopology.ConfigureErrorSettings = queue => queue.QueueExpiration = expiry;
                            cfg.SendTopology.ConfigureDeadLetterSettings = queue => queue.QueueExpiration = expiry;
                        }
                        cfg.ConfigureEndpoints(context);
                    });
                    break;
                default:
                    throw new InvalidOperationException($"Forge:Bus '{options.Bus}' is not known; use 'inmemory' or 'rabbitmq'.");
            }
        });
        builder.Services.Configure<MassTransitHostOptions>(host =>
        {
            host.WaitUntilStarted = false;
            host.StopTimeout = TimeSpan.FromSeconds(10);
        });
        return builder;
    }
}
