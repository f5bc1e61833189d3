import {
  Controller,
  Delete,
  Get,
  Header,
  HttpCode,
  HttpStatus,
  Param,
  Post,
  Query,
  Req,
  Res,
  StreamableFile,
} from '@nestjs/common';
import {
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { CurrentCaller, RequireScope } from '../auth/access.decorators';
import { Caller } from '../auth/caller';
import { ApiProblem } from '../errors/problem-details.dto';
import {
  StoredFileDto,
  StoredFileListDto,
  StoredFileListQueryDto,
  UploadQueryDto,
  toStoredFileDto,
} from './dto/stored-file.dto';
import { downloadOf } from './download';
import { uploadBodyOf } from './upload-body';
import { Uploads } from './uploads';

@ApiTags('files')
@Controller('files')
export class FilesController {
  constructor(private readonly uploads: Uploads) {}

  @Post()
  @RequireScope('execute')
  @ApiOperation({
    operationId: 'uploadFile',
    summary: 'Upload a file once, to name it in many executions (files[].file_id)',
    description:
      'The body is the file (name it with ?name=), or multipart/form-data with one file part. Streamed to storage as it arrives; kept FILE_RETENTION_HOURS.',
  })
  @ApiConsumes('application/octet-stream', 'multipart/form-data')
  @ApiBody({ schema: { type: 'string', format: 'binary' } })
  @ApiCreatedResponse({ type: StoredFileDto })
  @ApiProblem(400, 'A multipart body without a file part')
  @ApiProblem(413, 'UPLOAD_TOO_LARGE (MAX_UPLOAD_MB) or FILE_QUOTA_EXCEEDED')
  @ApiProblem(503, 'The file store failed')
  async upload(
    @Query() query: UploadQueryDto,
    @CurrentCaller() caller: Caller,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ): Promise<StoredFileDto> {
    const length = Number(request.headers['content-length']);
    const body = await uploadBodyOf(request, query.name);
    // A multipart body's length counts its framing too: only a raw body's is the file's.
    const declared = body.content === request && Number.isSafeInteger(length) ? length : null;
    const file = await this.uploads.save(caller.tenant, body, declared);
    response.setHeader('Location', `/files/${file.id}`);
    return toStoredFileDto(file);
  }

  @Get()
  @RequireScope('read')
  @ApiOperation({ operationId: 'listFiles', summary: 'Your uploads, oldest first' })
  @ApiOkResponse({ type: StoredFileListDto })
  @ApiProblem(503, 'The file store failed')
  async list(
    @Query() query: StoredFileListQueryDto,
    @CurrentCaller() caller: Caller,
  ): Promise<StoredFileListDto> {
    const files = await this.uploads.list(caller.tenant, query.limit, query.after);
    const last = files.length === query.limit ? files[files.length - 1] : undefined;
    return { items: files.map(toStoredFileDto), next_after: last?.id ?? null };
  }

  @Get(':id')
  @RequireScope('read')
  @ApiOperation({ operationId: 'getFile', summary: 'An upload: name, size, sha256, expiry' })
  @ApiOkResponse({ type: StoredFileDto })
  @ApiProblem(404, 'No upload of yours has this id')
  @ApiProblem(503, 'The file store failed')
  async get(@Param('id') id: string, @CurrentCaller() caller: Caller): Promise<StoredFileDto> {
    return toStoredFileDto(await this.uploads.get(caller.tenant, id));
  }

  @Get(':id/content')
  @RequireScope('read')
  @ApiOperation({ operationId: 'downloadFile', summary: 'The bytes of an upload' })
  @ApiProduces('application/octet-stream')
  @Header('X-Content-Type-Options', 'nosniff')
  @ApiOkResponse({ schema: { type: 'string', format: 'binary' } })
  @ApiProblem(404, 'No upload of yours has this id')
  @ApiProblem(503, 'The file store failed')
  async content(@Param('id') id: string, @CurrentCaller() caller: Caller): Promise<StreamableFile> {
    const [file, content] = await this.uploads.open(caller.tenant, id);
    return downloadOf(content, file);
  }

  @Delete(':id')
  @RequireScope('execute')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ operationId: 'deleteFile', summary: 'Delete an upload' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiProblem(404, 'No upload of yours has this id')
  @ApiProblem(503, 'The file store failed')
  async delete(@Param('id') id: string, @CurrentCaller() caller: Caller): Promise<void> {
    await this.uploads.delete(caller.tenant, id);
  }
}
