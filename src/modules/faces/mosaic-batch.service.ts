import {
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  Logger,
  UnprocessableEntityException,
} from '@nestjs/common';
import { OUTPUT_STORE, OutputStore } from '../outputs/output-store';
import { UploadsService } from '../uploads/uploads.service';
import { FacesConfig, facesConfig } from './faces.config';
import { MosaicBatchResponseDto, MosaicFileResultDto, MosaicParamsDto } from './dto/faces.dto';
import { FacesService } from './faces.service';

/** Uploads pixelated into OUTPUT_DIR as `<id>-face.png`: the original `GET /mosaic`, and one file of a job. */
@Injectable()
export class MosaicBatchService {
  private readonly logger = new Logger(MosaicBatchService.name);
  private batchRunning = false;

  constructor(
    private readonly faces: FacesService,
    private readonly uploads: UploadsService,
    @Inject(facesConfig.KEY) private readonly config: FacesConfig,
    @Inject(OUTPUT_STORE) private readonly outputs: OutputStore,
  ) {}

  /**
   * The original `GET /mosaic`: every upload pixelated into OUTPUT_DIR as `<id>-face.png`, at most
   * FACES_WORKERS at a time (others' requests keep being served), uploads without a face in failed_files.
   */
  async mosaicAll(q: MosaicParamsDto = {}): Promise<MosaicBatchResponseDto> {
    this.faces.handle.get();
    const uploads = await this.uploads.all();
    const cap = this.config.MOSAIC_SYNC_MAX_FILES;
    if (uploads.length > cap) {
      throw new UnprocessableEntityException(
        `There are ${uploads.length} uploaded images, more than the ${cap} this route processes in one request; start a background job with POST /jobs/mosaic instead.`,
      );
    }
    if (this.batchRunning) {
      throw new HttpException(
        'A mosaic of every upload is already running; try again when it has finished.',
        HttpStatus.TOO_MANY_REQUESTS,
      );
    }
    this.batchRunning = true;
    try {
      const results: MosaicFileResultDto[] = new Array(uploads.length);
      let next = 0;
      const lane = async () => {
        while (next < uploads.length) {
          const i = next++;
          results[i] = await this.mosaicUpload(uploads[i].id, uploads[i].originalName, q);
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.config.FACES_WORKERS, uploads.length) }, lane));
      const processed = results.filter((r) => r.status === 'processed');
      const noFaces = results.filter((r) => r.status === 'no_faces').length;
      const failed = results.length - processed.length - noFaces;
      const notes = [
        noFaces > 0 ? `${noFaces} had no face` : '',
        failed > 0 ? `${failed} could not be read` : '',
      ]
        .filter(Boolean)
        .join(', ');
      return {
        message:
          results.length === 0
            ? 'There are no uploaded images to process.'
            : `Processed ${processed.length} of ${results.length} images${notes ? `; ${notes}` : ''}.`,
        processed_files: processed.map((r) => r.filename),
        failed_files: results.filter((r) => r.status !== 'processed').map((r) => r.filename),
        results,
      };
    } finally {
      this.batchRunning = false;
    }
  }

  /**
   * One upload pixelated into OUTPUT_DIR as `<id>-face.png`, as one file of `GET /mosaic` (the jobs module
   * runs batches with it): no face → `no_faces`, a deleted or unreadable upload → `failed`; it throws only
   * when the cascade is not loaded (503).
   */
  mosaicUploadFile(id: string, filename: string, q: MosaicParamsDto = {}): Promise<MosaicFileResultDto> {
    this.faces.handle.get();
    return this.mosaicUpload(id, filename, q);
  }

  private async mosaicUpload(id: string, filename: string, q: MosaicParamsDto): Promise<MosaicFileResultDto> {
    try {
      const bytes = await this.uploads.read(id);
      if (!bytes)
        return { id, filename, status: 'failed', faces: 0, error: 'The upload was deleted meanwhile.' };
      const result = await this.faces.render(bytes, q, 'png');
      if (result.faces.length === 0) return { id, filename, status: 'no_faces', faces: 0 };
      const name = `${id}-face.png`;
      await this.outputs.write(name, result.data);
      return { id, filename, status: 'processed', faces: result.faces.length, output: `/outputs/${name}` };
    } catch (err) {
      if (err instanceof HttpException && err.getStatus() < 500) {
        return { id, filename, status: 'failed', faces: 0, error: err.message };
      }
      this.logger.error(`mosaic of upload ${id} failed: ${String(err)}`);
      return { id, filename, status: 'failed', faces: 0, error: 'The image could not be processed.' };
    }
  }
}
