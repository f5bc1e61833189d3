import { Module } from '@nestjs/common';
import { FileSweeper } from './file-sweeper';
import { FilesController } from './files.controller';
import { InputFiles } from './input-files';
import { OutputFileKeeper } from './output-files';
import { Uploads } from './uploads';

/** Uploads for reuse, and the files a request brings; the FileStore comes from AdaptersModule. */
@Module({
  controllers: [FilesController],
  providers: [Uploads, InputFiles, OutputFileKeeper, FileSweeper],
  exports: [InputFiles, OutputFileKeeper, FileSweeper],
})
export class FilesModule {}
