import { JobFilesDto } from '../../jobs/dto/jobs.dto';

/** Body of `POST /jobs/mnist`: which uploads. */
export class MnistJobDto extends JobFilesDto {}
