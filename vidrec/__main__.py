from vidrec.cli import main

main()
