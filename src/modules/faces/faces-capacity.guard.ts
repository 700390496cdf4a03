import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { closeAfterAnswer } from '../../common/http/linger';
import { FacesService } from './faces.service';

/**
 * Refuses an image route with 429 before its body is read when the detector is at capacity: a refusal then
 * costs no multipart parsing (the body is discarded by the lingering close), so a client hammering /mosaic
 * cannot spend the event loop everyone shares on bodies that are thrown away.
 */
@Injectable()
export class FacesCapacityGuard implements CanActivate {
  constructor(private readonly faces: FacesService) {}

  canActivate(context: ExecutionContext): boolean {
    try {
      this.faces.assertCapacity();
      return true;
    } catch (err) {
      const http = context.switchToHttp();
      closeAfterAnswer(http.getRequest<Request>(), http.getResponse<Response>());
      throw err;
    }
  }
}
