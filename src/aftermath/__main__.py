from aftermath.cli.main import main

main()
