import {
  BadRequestException,
  CallHandler,
  ExecutionContext,
  HttpException,
  Inject,
  Injectable,
  mixin,
  NestInterceptor,
  PayloadTooLargeException,
  Type,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { from, Observable, switchMap } from 'rxjs';
import { formatBytes } from '../format-bytes';
import { closeAfterAnswer } from '../linger';
import { MultipartError, MultipartLimits, MultipartProblem, readMultipart } from './read-multipart';

export type { ReceivedFile } from './read-multipart';

/** The limits of a module's multipart routes (each module that has such routes provides them). */
export const MULTIPART_LIMITS = Symbol('MULTIPART_LIMITS');

type Say = (limits: MultipartLimits, err: MultipartError) => string;
export type MultipartMessages = Partial<Record<MultipartProblem, Say>>;

export interface MultipartRoute {
  /** Field names a file may come in; omitted: any (the route checks). */
  fileFields?: readonly string[];
  /** What to tell the client, per problem; the defaults name the limit. */
  messages?: MultipartMessages;
  /** Hash every file (sha256) while it arrives: `file.sha256`. */
  hash?: boolean;
}

const DEFAULT_MESSAGES: Record<MultipartProblem, Say> = {
  file_too_large: (l) => `The file is larger than the upload limit of ${formatBytes(l.fileSize)}.`,
  too_many_files: (l) => `Send at most ${l.files} file${l.files === 1 ? '' : 's'} per request.`,
  unexpected_field: () => 'A file came in a field this route does not read.',
  too_many_fields: (l) => `Send at most ${l.fields} form fields.`,
  field_too_large: (l) => `A form field is longer than ${formatBytes(l.fieldSize)}.`,
  malformed: (_l, e) => (e.detail ? `Multipart: ${e.detail}` : 'The multipart/form-data body is incomplete.'),
};

/** The largest body the limits allow: every file and field at its limit, and a part header each. */
export function maxBody(l: MultipartLimits): number {
  return l.files * l.fileSize + l.fields * l.fieldSize + l.parts * 1024;
}

/**
 * The multipart edge of a route, in place of Nest's FileInterceptor: reads the body within the module's
 * MULTIPART_LIMITS, sets `req.files` (and `req.file`, the first) and `req.body` as multer does, so
 * `@UploadedFile()` / `@UploadedFiles()` work unchanged. A body over a limit is answered at once (413/400)
 * and its connection closed soon after (closeAfterAnswer), however long the client keeps sending.
 * A request that is not multipart passes with no files.
 */
export function Multipart(route: MultipartRoute = {}): Type<NestInterceptor> {
  @Injectable()
  class MultipartMixin implements NestInterceptor {
    constructor(@Inject(MULTIPART_LIMITS) private readonly limits: MultipartLimits) {}

    intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
      const http = context.switchToHttp();
      const req = http.getRequest<Request>();
      if (!req.is('multipart/form-data')) return next.handle();
      return from(this.read(req, http.getResponse<Response>())).pipe(switchMap(() => next.handle()));
    }

    private async read(req: Request, res: Response): Promise<void> {
      const declared = Number(req.headers['content-length']);
      if (declared > maxBody(this.limits)) {
        closeAfterAnswer(req, res);
        throw this.explain(new MultipartError('file_too_large'));
      }
      try {
        const { files, fields } = await readMultipart(req, this.limits, route.fileFields, route.hash);
        Object.assign(req, { files, file: files[0], body: fields });
      } catch (err) {
        if (!(err instanceof MultipartError)) throw err;
        closeAfterAnswer(req, res);
        throw this.explain(err);
      }
    }

    private explain(err: MultipartError): HttpException {
      const say = route.messages?.[err.problem] ?? DEFAULT_MESSAGES[err.problem];
      const message = say(this.limits, err);
      return err.problem === 'file_too_large'
        ? new PayloadTooLargeException(message)
        : new BadRequestException(message);
    }
  }
  return mixin(MultipartMixin);
}
