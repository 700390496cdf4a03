import { HttpException, Injectable } from '@nestjs/common';
import { FileOutcome, JobFile } from '../jobs/job-queue';
import { JobHandler, OnJob } from '../jobs/job-handler';
import { UploadsService } from '../uploads/uploads.service';
import { MnistInferenceService } from './mnist-inference.service';

/** `mnist` jobs: each upload classified as `POST /mnist/predict` does, two at a time. */
@OnJob('mnist')
@Injectable()
export class MnistJobHandler implements JobHandler {
  readonly lanes = 2;

  constructor(
    private readonly mnist: MnistInferenceService,
    private readonly uploads: UploadsService,
  ) {}

  get model() {
    return this.mnist.handle;
  }

  async process(file: JobFile): Promise<FileOutcome> {
    const data = await this.uploads.read(file.id);
    if (!data)
      return { id: file.id, filename: file.filename, ok: false, reason: 'The upload was deleted meanwhile.' };
    try {
      const [p] = await this.mnist.predict([{ data, name: file.filename }]);
      return { id: file.id, filename: file.filename, ok: true, digit: p.digit, confidence: p.confidence };
    } catch (err) {
      if (err instanceof HttpException && err.getStatus() < 500)
        return { id: file.id, filename: file.filename, ok: false, reason: err.message };
      throw err;
    }
  }
}
