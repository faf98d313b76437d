import {Args, Flags, loadHelpClass, type Command} from '@oclif/core';
import {KtrailCommand} from '../src/cli/base.js';
import {commandWordCount, unexpectedArguments, unknownInTopic} from '../src/cli/not-found.js';
import {nearest} from '../src/edit-distance.js';
import {UserError} from '../src/errors.js';

/**
 * `ktrail help [COMMAND...]`: the same help as `ktrail [COMMAND...] --help`,
 * rendered by oclif; with --json, the same facts (read from the manifest) as
 * one JSON value, as every ktrail command gives its output.
 */
export default class Help extends KtrailCommand {
  static summary = 'Show help for ktrail or for one of its commands.';
  static description = `With --json: the commands (every one, nested ones too) with their summaries, or for one command
its summary, description, arguments, flags and examples.`;

  static examples = ['<%= config.bin %> help', '<%= config.bin %> help ingest', '<%= config.bin %> help rules list', '<%= config.bin %> help query --json'];
  static strict = false;
  static args = {
    command: Args.string({description: 'command to show help for', required: false}),
  };

  static flags = {
    'nested-commands': Flags.boolean({char: 'n', description: 'include all nested commands in the output'}),
  };

  async run(): Promise<unknown> {
    const {argv, flags} = await this.parse(Help);
    const words = argv as string[];
    const id = words.join(':');
    const command = id ? this.config.findCommand(id) : undefined;
    const topicCommands = this.visibleCommands().filter((c) => id === '' || c.id.startsWith(`${id}:`));
    if (id && !command && topicCommands.length === 0) {
      // As for `ktrail NAME` (src/cli/not-found.ts), rather than oclif's "Command NAME not found.".
      // A command followed by more words ("help sources x") is said as `ktrail sources x` says it; it was
      // "unknown command 'sources x' (did you mean 'sources'?)".
      const k = commandWordCount(words, (c) => this.config.findCommand(c) !== undefined);
      if (k > 0) throw new UserError(unexpectedArguments(words.slice(0, k), words.slice(k)));
      const inTopic = unknownInTopic(words, this.config.commandIDs);
      if (inTopic) throw new UserError(inTopic);
      const near = nearest(words.join(' '), this.config.commandIDs);
      throw new UserError(`unknown command '${words.join(' ')}'${near ? ` (did you mean '${near.replace(/:/g, ' ')}'?)` : ''}; see ktrail --help`);
    }
    if (!this.jsonEnabled()) {
      const HelpClass = await loadHelpClass(this.config);
      const help = new HelpClass(this.config, {all: flags['nested-commands'], ...this.config.pjson.oclif.helpOptions});
      await help.showHelp(words);
      return;
    }
    if (command) return this.commandJson(command);
    const commands = topicCommands.map((c) => ({command: spaced(c.id), summary: c.summary ?? null}));
    if (id) return {topic: words.join(' '), commands};
    return {bin: this.config.bin, version: this.config.version, summary: this.config.pjson.description ?? null, commands};
  }

  private visibleCommands(): Command.Loadable[] {
    return this.config.commands.filter((c) => !c.hidden).sort((a, b) => a.id.localeCompare(b.id));
  }

  private commandJson(c: Command.Loadable): Record<string, unknown> {
    const text = (s: string | undefined) => (s === undefined ? null : s.replaceAll('<%= config.bin %>', this.config.bin));
    return {
      command: spaced(c.id),
      summary: text(c.summary),
      description: text(c.description),
      args: Object.values(c.args).map((a) => ({name: a.name, description: a.description ?? null, required: !!a.required})),
      flags: Object.values(c.flags)
        .filter((f) => !f.hidden)
        .map((f) => ({
          name: f.name,
          char: f.char ?? null,
          type: f.type,
          description: f.description ?? null,
          required: !!f.required,
          ...(f.type === 'option'
            ? {value: f.helpValue ?? null, options: f.options ?? null, multiple: !!f.multiple, default: f.default ?? null}
            : {default: !!f.default}),
        })),
      examples: (c.examples ?? []).map((e) => text(typeof e === 'string' ? e : e.command)),
    };
  }
}

/** A command id as typed: `rules:list` is `rules list`. */
function spaced(id: string): string {
  return id.replace(/:/g, ' ');
}
