import { Module } from '@nestjs/common';
import { ExecutionModule } from '../execution/execution.module';
import { FilesModule } from '../files/files.module';
import { RuntimesModule } from '../runtimes/runtimes.module';
import { McpController } from './mcp.controller';
import { McpService } from './mcp.service';

/** POST /mcp: the sandbox as MCP tools for agents, over the REST API's own services. */
@Module({
  imports: [ExecutionModule, FilesModule, RuntimesModule],
  controllers: [McpController],
  providers: [McpService],
})
export class McpModule {}
