import { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { MessageMappingProperties } from '@nestjs/websockets';
import type { Namespace, Server, ServerOptions, Socket } from 'socket.io';
import { AppConfig } from '../../config/app.config';
import { presentedKey } from '../auth/presented-key';
import { toErrorBody } from '../errors/error-body';
import { admit, refusal } from './socket-load';

/** Where the adapter counts connections and events (the metrics module's counters fit it). */
export interface SocketMetrics {
  wsConnections: { inc(labels: { namespace: string }): void; dec(labels: { namespace: string }): void };
  wsMessages: { inc(labels: { namespace: string; event: string }): void };
}

/** A socket.io adapter constructor (e.g. `@socket.io/redis-adapter`'s), for rooms shared between instances. */
export type RoomAdapter = NonNullable<ServerOptions['adapter']>;

/** Decides a handshake (the `auth.token` it sent, else its Authorization / X-API-Key header); throws to refuse. */
export type HandshakeCheck = (token: string | undefined, ip: string) => Promise<void>;

function handshakeToken(socket: Socket): string | undefined {
  const auth = (socket.handshake.auth ?? {}) as { token?: unknown };
  return typeof auth.token === 'string' ? auth.token : presentedKey(socket.handshake.headers);
}

/**
 * socket.io with the limits from config, CORS like HTTP, and connection metrics per namespace. Given a
 * `roomAdapter` (app.setup.ts passes `@socket.io/redis-adapter`'s when REDIS_URL is set: NestJS's
 * RedisIoAdapter pattern), rooms and broadcasts span every instance.
 */
export class SocketIoAdapter extends IoAdapter {
  /** Events some gateway handles, per namespace: only these become metric labels (a client picks the rest). */
  private readonly known = new Map<string, Set<string>>();

  constructor(
    app: INestApplicationContext,
    private readonly config: AppConfig,
    private readonly metrics: SocketMetrics,
    private readonly roomAdapter?: RoomAdapter,
    private readonly checkHandshake?: HandshakeCheck,
  ) {
    super(app);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const origins = this.config.CORS_ORIGINS;
    const server = super.createIOServer(port, {
      ...options,
      // Binary image events carry an upload; a little headroom for the envelope.
      maxHttpBufferSize: this.config.UPLOAD_MAX_BYTES + 64 * 1024,
      pingInterval: this.config.WS_PING_INTERVAL_MS,
      pingTimeout: this.config.WS_PING_TIMEOUT_MS,
      cors:
        origins.length === 0
          ? undefined
          : { origin: origins.includes('*') ? true : origins, credentials: true },
    }) as Server;
    if (this.roomAdapter) server.adapter(this.roomAdapter);
    const check = this.checkHandshake;
    if (check) {
      // Refused connections get `connect_error` with the error body as `data`, on every namespace.
      const middleware = (socket: Socket, next: (err?: Error) => void) =>
        check(handshakeToken(socket), socket.handshake.address).then(
          () => next(),
          (err: unknown) => {
            const body = toErrorBody(err);
            next(Object.assign(new Error(body.message), { data: body }));
          },
        );
      server.use(middleware);
      server.on('new_namespace', (namespace: Namespace) => namespace.use(middleware));
    }
    return server;
  }

  override bindClientConnect(server: Namespace, callback: (socket: Socket) => void): void {
    server.on('connection', (socket: Socket) => {
      // Several gateways may share a namespace; count each socket once.
      const data = socket.data as { counted?: boolean };
      if (!data.counted) {
        data.counted = true;
        const namespace = server.name;
        this.metrics.wsConnections.inc({ namespace });
        // Admission before any gateway work: a socket with WS_MAX_INFLIGHT events in progress is refused at once.
        const limits = {
          maxInflight: this.config.WS_MAX_INFLIGHT,
          floodDisconnect: this.config.WS_FLOOD_DISCONNECT,
        };
        socket.use((packet, next) => {
          // Events no gateway handles cost nothing beyond this: socket.io drops them.
          if (!this.known.get(namespace)?.has(packet[0] as string)) return next();
          const verdict = admit(socket, limits);
          if (verdict === 'accept') return next();
          if (verdict === 'refuse') {
            const ack = packet.at(-1);
            const error = refusal(limits.maxInflight);
            if (typeof ack === 'function') (ack as (r: unknown) => void)({ error });
            socket.emit('error', error);
          }
        });
        socket.onAny((event: unknown) => {
          const name = typeof event === 'string' && this.known.get(namespace)?.has(event) ? event : 'other';
          this.metrics.wsMessages.inc({ namespace, event: name });
        });
        socket.once('disconnect', () => this.metrics.wsConnections.dec({ namespace }));
      }
      callback(socket);
    });
  }

  override bindMessageHandlers(
    ...args: Parameters<IoAdapter['bindMessageHandlers']>
  ): ReturnType<IoAdapter['bindMessageHandlers']> {
    const [socket, handlers] = args as unknown as [{ nsp: { name: string } }, MessageMappingProperties[]];
    const known = this.known.get(socket.nsp.name) ?? new Set<string>();
    for (const h of handlers) if (typeof h.message === 'string') known.add(h.message);
    this.known.set(socket.nsp.name, known);
    return super.bindMessageHandlers(...args);
  }
}
