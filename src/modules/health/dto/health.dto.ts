import { ApiProperty } from '@nestjs/swagger';

export class LiveDto {
  @ApiProperty({ example: 'ok' }) status: string;
  @ApiProperty({ example: 12.5 }) uptimeSeconds: number;
}

export class ReadyDto {
  @ApiProperty({ example: 'ready' }) status: string;
}
