import { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { Namespace, Server, ServerOptions, Socket } from 'socket.io';
import { AppConfig } from '../../config/app.config';
import { MetricsService } from '../../modules/metrics/metrics.service';

/** socket.io with the limits from config, CORS like HTTP, and connection metrics per namespace. */
export class SocketIoAdapter extends IoAdapter {
  constructor(
    app: INestApplicationContext,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {
    super(app);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const origins = this.config.CORS_ORIGINS;
    return super.createIOServer(port, {
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
  }

  override bindClientConnect(server: Namespace, callback: (socket: Socket) => void): void {
    server.on('connection', (socket: Socket) => {
      // Several gateways may share a namespace; count each socket once.
      const data = socket.data as { counted?: boolean };
      if (!data.counted) {
        data.counted = true;
        const namespace = server.name;
        this.metrics.wsConnections.inc({ namespace });
        socket.onAny((event: string) => this.metrics.wsMessages.inc({ namespace, event }));
        socket.once('disconnect', () => this.metrics.wsConnections.dec({ namespace }));
      }
      callback(socket);
    });
  }
}
