import {Args, Command, Flags, loadHelpClass} from '@oclif/core';

/** `ktrail help [COMMAND...]`: the same help as `ktrail [COMMAND...] --help`, rendered by oclif. */
export default class Help extends Command {
  static summary = 'Show help for ktrail or for one of its commands.';
  static examples = ['<%= config.bin %> help', '<%= config.bin %> help ingest', '<%= config.bin %> help rules list'];
  static strict = false;
  static args = {
    command: Args.string({description: 'command to show help for', required: false}),
  };

  static flags = {
    'nested-commands': Flags.boolean({char: 'n', description: 'include all nested commands in the output'}),
  };

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Help);
    const HelpClass = await loadHelpClass(this.config);
    const help = new HelpClass(this.config, {all: flags['nested-commands'], ...this.config.pjson.oclif.helpOptions});
    await help.showHelp(argv as string[]);
  }
}
