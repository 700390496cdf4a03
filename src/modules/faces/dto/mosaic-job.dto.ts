import { IntersectionType } from '@nestjs/swagger';
import { JobFilesDto } from '../../jobs/dto/jobs.dto';
import { MosaicParamsDto } from './faces.dto';

/** Body of `POST /jobs/mosaic`: the parameters of `GET /mosaic`, and optionally which uploads. */
export class MosaicJobDto extends IntersectionType(MosaicParamsDto, JobFilesDto) {}
