import {
  BadRequestException,
  CallHandler,
  ExecutionContext,
  Inject,
  Injectable,
  NestInterceptor,
  PayloadTooLargeException,
} from '@nestjs/common';
import { catchError, Observable, throwError } from 'rxjs';
import { AppConfig, appConfig } from '../../config/app.config';

/** "10 MB", "512 KB": a byte count as people read it. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${+(bytes / 1024 / 1024).toFixed(1)} MB`;
  if (bytes >= 1024) return `${+(bytes / 1024).toFixed(1)} KB`;
  return `${bytes} bytes`;
}

/**
 * Put before `FileInterceptor('file')` (outermost): turns multer's terse errors ("File too large",
 * "Unexpected file field - image") into one sentence that says what to do.
 */
@Injectable()
export class MultipartErrorsInterceptor implements NestInterceptor {
  constructor(@Inject(appConfig.KEY) private readonly config: AppConfig) {}

  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(catchError((err: unknown) => throwError(() => this.explain(err))));
  }

  private explain(err: unknown): unknown {
    if (err instanceof PayloadTooLargeException && /^File too large/i.test(err.message)) {
      return new PayloadTooLargeException(
        `The file is larger than the upload limit of ${formatBytes(this.config.UPLOAD_MAX_BYTES)}.`,
      );
    }
    if (err instanceof BadRequestException && /^(Unexpected file field|Too many files)/i.test(err.message)) {
      return new BadRequestException('Send exactly one image, in the multipart form field "file".');
    }
    return err;
  }
}
