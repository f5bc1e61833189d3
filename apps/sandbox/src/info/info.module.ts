import { Module } from '@nestjs/common';
import { InfoController } from './info.controller';
import { ServiceEndpoints } from './service-endpoints';

@Module({ controllers: [InfoController], providers: [ServiceEndpoints] })
export class InfoModule {}
