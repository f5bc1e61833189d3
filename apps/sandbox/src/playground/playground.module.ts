import { Logger, Module } from '@nestjs/common';
import {
  loadPlaygroundAssets,
  PLAYGROUND_ASSETS,
  playgroundBundleDir,
  type PlaygroundAssets,
} from './playground-assets';
import { PlaygroundController } from './playground.controller';

/** GET /playground: the page people run code from, over the same API as every other caller. */
@Module({
  controllers: [PlaygroundController],
  providers: [
    {
      provide: PLAYGROUND_ASSETS,
      useFactory: (): PlaygroundAssets => {
        const assets = loadPlaygroundAssets(playgroundBundleDir());
        if (!assets) {
          new Logger('PlaygroundModule').warn(
            'GET /playground answers 503: the page was not built (npm run build bundles it into dist/playground)',
          );
        }
        return assets;
      },
    },
  ],
})
export class PlaygroundModule {}
